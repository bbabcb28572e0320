package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// eventStmts are the statements of the events' group commit, prepared once on the writer
// connection: a webhook delivery runs eight of them, and parsing each anew cost as much CPU
// as the inserts themselves.
type eventStmts struct {
	insert, markProcessed                    *sql.Stmt
	savepointEv, releaseEv, rollbackEv       *sql.Stmt
	savepointPair, releasePair, rollbackPair *sql.Stmt
	all                                      []*sql.Stmt
}

func (s *eventStmts) prepare(ctx context.Context, w *sql.DB) error {
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.insert, `INSERT INTO events (forge, delivery_id, kind, payload, received, processed)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (forge, delivery_id) DO NOTHING`},
		{&s.markProcessed, `UPDATE events SET processed = 1 WHERE id = ?`},
		{&s.savepointEv, `SAVEPOINT ev`},
		{&s.releaseEv, `RELEASE ev`},
		{&s.rollbackEv, `ROLLBACK TO ev`},
		{&s.savepointPair, `SAVEPOINT pair`},
		{&s.releasePair, `RELEASE pair`},
		{&s.rollbackPair, `ROLLBACK TO pair`},
	} {
		st, err := w.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("preparing the event statements: %w", err)
		}
		*p.st = st
		s.all = append(s.all, st)
	}
	return nil
}

func (s *eventStmts) close() error {
	var errs []error
	for _, st := range s.all {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// txEventStmts are eventStmts bound to one transaction (once per group commit, not per row).
type txEventStmts struct {
	insert, markProcessed                    *sql.Stmt
	savepointEv, releaseEv, rollbackEv       *sql.Stmt
	savepointPair, releasePair, rollbackPair *sql.Stmt
}

func (s *eventStmts) bind(ctx context.Context, tx *sql.Tx) *txEventStmts {
	return &txEventStmts{
		insert: tx.StmtContext(ctx, s.insert), markProcessed: tx.StmtContext(ctx, s.markProcessed),
		savepointEv: tx.StmtContext(ctx, s.savepointEv), releaseEv: tx.StmtContext(ctx, s.releaseEv),
		rollbackEv: tx.StmtContext(ctx, s.rollbackEv), savepointPair: tx.StmtContext(ctx, s.savepointPair),
		releasePair: tx.StmtContext(ctx, s.releasePair), rollbackPair: tx.StmtContext(ctx, s.rollbackPair),
	}
}
