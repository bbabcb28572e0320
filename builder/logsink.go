package builder

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// LogSink receives a build log line by line (without the newline). Executors call Line from one
// goroutine at a time.
type LogSink interface {
	Line(line string)
}

// LogFunc adapts a function to LogSink.
type LogFunc func(line string)

// Line calls f.
func (f LogFunc) Line(line string) { f(line) }

// MaxLineBytes is the longest line a sink receives; longer lines are cut into pieces, so one
// endless line cannot grow memory.
const MaxLineBytes = 8 << 10

// LineWriter turns a byte stream into lines for a sink. It is safe for concurrent use (stdout
// and stderr of one build share one).
type LineWriter struct {
	mu   sync.Mutex
	sink LogSink
	buf  []byte
}

// NewLineWriter returns a LineWriter feeding sink (nil: the log is dropped).
func NewLineWriter(sink LogSink) *LineWriter { return &LineWriter{sink: sink} }

// Write splits p into lines; a partial last line waits for more (or for Flush).
func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= MaxLineBytes {
				w.emit(w.buf[:MaxLineBytes])
				w.buf = append(w.buf[:0], w.buf[MaxLineBytes:]...)
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		for len(w.buf) > MaxLineBytes {
			w.emit(w.buf[:MaxLineBytes])
			w.buf = w.buf[MaxLineBytes:]
		}
		w.emit(w.buf)
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Flush emits a pending partial line.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *LineWriter) emit(b []byte) {
	if w.sink != nil {
		w.sink.Line(strings.TrimSuffix(string(b), "\r"))
	}
}

// CappedLog forwards lines to next until max bytes have passed; after that it keeps only the
// last tail lines, which Close forwards after a line saying how much was left out. The end of a
// log is what explains a failure, so that is what survives a flood.
type CappedLog struct {
	mu        sync.Mutex
	next      LogSink
	max       int64
	sent      int64
	tail      []string
	tailN     int
	start     int
	omitted   int64
	omitBytes int64
}

// NewCappedLog returns a sink forwarding at most max bytes of lines to next, then the last tail lines.
func NewCappedLog(next LogSink, max int64, tail int) *CappedLog {
	if tail < 1 {
		tail = 1
	}
	return &CappedLog{next: next, max: max, tailN: tail}
}

// Line forwards or keeps line.
func (c *CappedLog) Line(line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	size := int64(len(line)) + 1
	if c.omitted == 0 && len(c.tail) == 0 && c.sent+size <= c.max {
		c.sent += size
		if c.next != nil {
			c.next.Line(line)
		}
		return
	}
	if len(c.tail) < c.tailN {
		c.tail = append(c.tail, line)
		return
	}
	c.omitted++
	c.omitBytes += int64(len(c.tail[c.start])) + 1
	c.tail[c.start] = line
	c.start = (c.start + 1) % c.tailN
}

// Truncated reports whether lines were left out.
func (c *CappedLog) Truncated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.omitted > 0
}

// Close forwards the kept tail.
func (c *CappedLog) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.next == nil {
		return
	}
	if c.omitted > 0 {
		c.next.Line(fmt.Sprintf("[openwrt-ppa: log cap of %d bytes reached: %d lines (%d bytes) left out; the last %d lines follow]", c.max, c.omitted, c.omitBytes, len(c.tail)))
	}
	for i := range c.tail {
		c.next.Line(c.tail[(c.start+i)%len(c.tail)])
	}
	c.tail, c.start = nil, 0
}

// LogTail is a sink that keeps the last n lines, for reports.
type LogTail struct {
	mu    sync.Mutex
	n     int
	lines []string
}

// NewLogTail keeps the last n lines.
func NewLogTail(n int) *LogTail { return &LogTail{n: n} }

// Line keeps line.
func (t *LogTail) Line(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > 2*t.n {
		t.lines = append([]string(nil), t.lines[len(t.lines)-t.n:]...)
	}
}

// Lines returns the kept lines, oldest first.
func (t *LogTail) Lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) > t.n {
		return append([]string(nil), t.lines[len(t.lines)-t.n:]...)
	}
	return append([]string(nil), t.lines...)
}

// MultiSink sends each line to every sink.
type MultiSink []LogSink

// Line forwards line.
func (m MultiSink) Line(line string) {
	for _, s := range m {
		if s != nil {
			s.Line(line)
		}
	}
}
