package jobs

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// LogStreamName is the live log stream of a job.
func LogStreamName(jobID int64) string { return "job:" + strconv.FormatInt(jobID, 10) }

// jobLog is a build log's sink: every line goes to the log file (the record) and, in batches, to
// the live stream that build pages follow.
type jobLog struct {
	stream string
	live   store.LogStream

	mu      sync.Mutex
	file    *os.File
	w       *bufio.Writer
	pending []string
	closed  bool
	done    chan struct{}
	flushed chan struct{}
}

var _ builder.LogSink = (*jobLog)(nil)

// liveBatch is how often lines are sent to the live stream: often enough to look live, rarely
// enough that a chatty build does not send one Redis command a line.
const liveBatch = 200 * time.Millisecond

func openJobLog(path string, live store.LogStream, stream string) (*jobLog, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening build log: %w", err)
	}
	l := &jobLog{stream: stream, live: live, file: f, w: bufio.NewWriterSize(f, 64<<10),
		done: make(chan struct{}), flushed: make(chan struct{})}
	go l.forward()
	return l, nil
}

// Line implements builder.LogSink.
func (l *jobLog) Line(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	_, _ = l.w.WriteString(line)
	_ = l.w.WriteByte('\n')
	l.pending = append(l.pending, line)
}

// Printf adds a line of the service's own (checkout, publish) to the log.
func (l *jobLog) Printf(format string, args ...any) {
	l.Line("[openwrt-ppa] " + fmt.Sprintf(format, args...))
}

func (l *jobLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pending
	l.pending = nil
	if len(p) > 0 {
		_ = l.w.Flush()
	}
	return p
}

func (l *jobLog) forward() {
	defer close(l.flushed)
	t := time.NewTicker(liveBatch)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.done:
			if lines := l.take(); len(lines) > 0 {
				_ = l.live.Append(context.Background(), l.stream, lines...)
			}
			return
		}
		if lines := l.take(); len(lines) > 0 {
			// A live stream that fails only costs live viewers lines; the file has them.
			_ = l.live.Append(context.Background(), l.stream, lines...)
		}
	}
}

// Close flushes the file and the live stream and marks the stream finished.
func (l *jobLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.done)
	<-l.flushed
	l.mu.Lock()
	err := l.w.Flush()
	l.mu.Unlock()
	if cerr := l.file.Close(); err == nil {
		err = cerr
	}
	_ = l.live.Finish(context.Background(), l.stream)
	return err
}
