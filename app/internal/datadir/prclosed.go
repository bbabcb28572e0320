package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// prClosed holds one marker file per closed pull request whose feed is still up: its name is
// "<repo id>-<number>", its modification time when the request closed. The data dir is shared by
// every process in Redis mode, so any replica's janitor can remove the feed when its time comes.
func (d Dir) prClosed() string { return filepath.Join(d.Cache(), "pr-closed") }

func (d Dir) prMark(repoID int64, number int) string {
	return filepath.Join(d.prClosed(), strconv.FormatInt(repoID, 10)+"-"+strconv.Itoa(number))
}

// MarkPRClosed notes that a pull request closed at now.
func (d Dir) MarkPRClosed(repoID int64, number int, now time.Time) error {
	if err := os.MkdirAll(d.prClosed(), 0o755); err != nil {
		return err
	}
	name := d.prMark(repoID, number)
	if err := os.WriteFile(name, nil, 0o644); err != nil {
		return fmt.Errorf("scheduling removal of the feed of pull request %d: %w", number, err)
	}
	return os.Chtimes(name, now, now)
}

// UnmarkPRClosed forgets a pull request's closing (it was reopened, or its feed is gone).
func (d Dir) UnmarkPRClosed(repoID int64, number int) {
	_ = os.Remove(d.prMark(repoID, number))
}

// ClosedPR is a pull request closed at Since whose feed is still up.
type ClosedPR struct {
	RepoID int64
	Number int
	Since  time.Time
	file   string
}

// Unmark removes the mark ClosedPRs found.
func (d Dir) Unmark(c ClosedPR) { _ = os.Remove(filepath.Join(d.prClosed(), c.file)) }

// ClosedPRs lists the marked pull requests; files that are no marks are passed over.
func (d Dir) ClosedPRs() ([]ClosedPR, error) {
	ents, err := os.ReadDir(d.prClosed())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ClosedPR
	for _, e := range ents {
		idPart, numPart, ok := strings.Cut(e.Name(), "-")
		repoID, err1 := strconv.ParseInt(idPart, 10, 64)
		number, err2 := strconv.Atoi(numPart)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, ClosedPR{RepoID: repoID, Number: number, Since: info.ModTime(), file: e.Name()})
	}
	return out, nil
}
