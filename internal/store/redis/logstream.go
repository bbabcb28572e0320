package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// LogOptions configures a LogStream.
type LogOptions struct {
	// Prefix as in Options ("ppa:" when empty).
	Prefix string
	// MaxLines keeps about that many newest lines per stream (XADD MAXLEN ~); 100000 when zero.
	MaxLines int64
	// Retain is how long a finished stream stays readable; 10 minutes when zero. A stream
	// whose writer died without finishing it goes 24 hours after its last line.
	Retain time.Duration
	// Block bounds one blocking read; 1s when zero.
	Block time.Duration
}

// LogStream keeps a Redis Stream per log: lines as entries {line: text}, the end as an entry
// {end: 1}. Offsets are entry IDs, so a reader in any process continues where it stopped.
type LogStream struct {
	c    goredis.UniversalClient
	opts LogOptions
}

var _ store.LogStream = (*LogStream)(nil)

// abandoned is how long an unfinished stream lives after its last line.
const abandoned = 24 * time.Hour

// NewLogStream returns a LogStream on an open client (which stays the caller's).
func NewLogStream(c goredis.UniversalClient, opts LogOptions) *LogStream {
	if opts.Prefix == "" {
		opts.Prefix = "ppa:"
	}
	if opts.MaxLines <= 0 {
		opts.MaxLines = 100000
	}
	if opts.Retain <= 0 {
		opts.Retain = 10 * time.Minute
	}
	if opts.Block <= 0 {
		opts.Block = time.Second
	}
	return &LogStream{c: c, opts: opts}
}

func (s *LogStream) key(stream string) string { return s.opts.Prefix + "log:" + stream }

// Append implements store.LogStream.
func (s *LogStream) Append(ctx context.Context, stream string, lines ...string) error {
	k := s.key(stream)
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, l := range lines {
			p.XAdd(ctx, &goredis.XAddArgs{Stream: k, MaxLen: s.opts.MaxLines, Approx: true, Values: []any{"line", l}})
		}
		p.Expire(ctx, k, abandoned)
		return nil
	})
	if err != nil {
		return fmt.Errorf("appending to log %s: %w", stream, err)
	}
	return nil
}

// Finish implements store.LogStream.
func (s *LogStream) Finish(ctx context.Context, stream string) error {
	k := s.key(stream)
	_, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.XAdd(ctx, &goredis.XAddArgs{Stream: k, Values: []any{"end", "1"}})
		p.Expire(ctx, k, s.opts.Retain)
		return nil
	})
	if err != nil {
		return fmt.Errorf("finishing log %s: %w", stream, err)
	}
	return nil
}

// Read implements store.LogStream.
func (s *LogStream) Read(ctx context.Context, stream, after string, max int) (store.LogChunk, error) {
	if max <= 0 {
		max = 1000
	}
	from := after
	if from == "" {
		from = "0-0"
	}
	for {
		if err := ctx.Err(); err != nil {
			return store.LogChunk{}, fmt.Errorf("waiting for log lines of %s: %w", stream, err)
		}
		block := s.opts.Block
		if dl, ok := ctx.Deadline(); ok {
			block = min(block, time.Until(dl))
		}
		if block < time.Millisecond {
			continue
		}
		res, err := s.c.XRead(ctx, &goredis.XReadArgs{Streams: []string{s.key(stream), from}, Count: int64(max), Block: block}).Result()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return store.LogChunk{}, fmt.Errorf("waiting for log lines of %s: %w", stream, ctx.Err())
			}
			return store.LogChunk{}, fmt.Errorf("reading log %s: %w", stream, err)
		}
		ch := store.LogChunk{Next: after}
		for _, m := range res[0].Messages {
			if _, end := m.Values["end"]; end {
				ch.Done = true
				break
			}
			text, _ := m.Values["line"].(string)
			ch.Lines = append(ch.Lines, store.LogLine{Offset: m.ID, Time: idTime(m.ID), Text: text})
			ch.Next = m.ID
		}
		return ch, nil
	}
}

// idTime is the append time a stream entry ID carries (milliseconds before the "-").
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n).UTC()
}
