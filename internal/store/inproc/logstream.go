package inproc

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// LogOptions configures a LogStream.
type LogOptions struct {
	// MaxLines keeps only the newest lines of a stream (a reader that falls further behind
	// skips ahead); 100000 when zero.
	MaxLines int
	// Retain is how long a finished stream stays readable; 10 minutes when zero.
	Retain time.Duration
}

// LogStream fans log lines out to readers in this process. Offsets are line numbers.
type LogStream struct {
	opts    LogOptions
	mu      sync.Mutex
	streams map[string]*logBuf
}

type logBuf struct {
	first int64 // offset of lines[0]
	lines []store.LogLine
	done  bool
	grown chan struct{} // closed and replaced on every append and on finish
	// waiting counts readers blocked on a stream; an empty stream that only readers made is
	// dropped when the last one leaves, so polling unknown (or forgotten) streams leaks nothing.
	waiting int
}

var _ store.LogStream = (*LogStream)(nil)

// NewLogStream returns an empty fan-out.
func NewLogStream(opts LogOptions) *LogStream {
	if opts.MaxLines <= 0 {
		opts.MaxLines = 100000
	}
	if opts.Retain <= 0 {
		opts.Retain = 10 * time.Minute
	}
	return &LogStream{opts: opts, streams: map[string]*logBuf{}}
}

// buf returns the named stream, creating it; s.mu must be held.
func (s *LogStream) buf(name string) *logBuf {
	b := s.streams[name]
	if b == nil {
		b = &logBuf{first: 1, grown: make(chan struct{})}
		s.streams[name] = b
	}
	return b
}

func (b *logBuf) wake() {
	close(b.grown)
	b.grown = make(chan struct{})
}

// Append implements store.LogStream.
func (s *LogStream) Append(_ context.Context, stream string, lines ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf(stream)
	now := time.Now().UTC()
	for _, text := range lines {
		off := b.first + int64(len(b.lines))
		b.lines = append(b.lines, store.LogLine{Offset: strconv.FormatInt(off, 10), Time: now, Text: text})
	}
	if over := len(b.lines) - s.opts.MaxLines; over > 0 {
		b.lines = append(b.lines[:0:0], b.lines[over:]...)
		b.first += int64(over)
	}
	b.wake()
	return nil
}

// Finish implements store.LogStream.
func (s *LogStream) Finish(_ context.Context, stream string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf(stream)
	if !b.done {
		b.done = true
		b.wake()
		time.AfterFunc(s.opts.Retain, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.streams[stream] == b {
				delete(s.streams, stream)
			}
		})
	}
	return nil
}

// Read implements store.LogStream.
func (s *LogStream) Read(ctx context.Context, stream, after string, max int) (store.LogChunk, error) {
	var pos int64
	if after != "" {
		var err error
		if pos, err = strconv.ParseInt(after, 10, 64); err != nil {
			return store.LogChunk{}, fmt.Errorf("log offset %q was not made by this stream: %w", after, store.ErrInvalid)
		}
	}
	if max <= 0 {
		max = 1000
	}
	for {
		s.mu.Lock()
		b := s.buf(stream)
		start := max64(pos+1, b.first) - b.first // index of the first line after pos
		if n := int64(len(b.lines)) - start; n > 0 {
			lines := append([]store.LogLine(nil), b.lines[start:start+min(n, int64(max))]...)
			done := b.done && start+int64(len(lines)) == int64(len(b.lines))
			s.mu.Unlock()
			return store.LogChunk{Lines: lines, Next: lines[len(lines)-1].Offset, Done: done}, nil
		}
		if b.done {
			s.mu.Unlock()
			return store.LogChunk{Next: after, Done: true}, nil
		}
		grown := b.grown
		b.waiting++
		s.mu.Unlock()
		var err error
		select {
		case <-ctx.Done():
			err = fmt.Errorf("waiting for log lines of %s: %w", stream, ctx.Err())
		case <-grown:
		}
		s.mu.Lock()
		b.waiting--
		if b.waiting == 0 && len(b.lines) == 0 && !b.done && s.streams[stream] == b {
			delete(s.streams, stream)
		}
		s.mu.Unlock()
		if err != nil {
			return store.LogChunk{}, err
		}
	}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
