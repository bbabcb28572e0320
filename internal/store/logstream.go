package store

import (
	"context"
	"time"
)

// LogStream carries a job's log lines live from the worker that runs it to every process that
// shows it (the build page follows the log while it grows). It is a live tail, not the record:
// the log file under the data dir is. The embedded mode fans lines out in the process
// (store/inproc); the Redis mode appends them to a Redis Stream per job (store/redis).
type LogStream interface {
	// Append adds lines to the named stream, creating it. Appending to a finished stream is
	// allowed but readers that saw the end do not see the lines.
	Append(ctx context.Context, stream string, lines ...string) error
	// Finish marks the end of the stream: readers get Done once they have read every line. The
	// stream is forgotten some time later (the implementation's retention); a forgotten stream
	// reads as one never appended to, so a reader that finds the job finished reads the log file
	// instead.
	Finish(ctx context.Context, stream string) error
	// Read returns up to max lines after the offset (the empty offset is the start), blocking
	// until there is at least one line, the stream is finished, or ctx ends (its error,
	// wrapped). max <= 0 means 1000. A stream never appended to reads as empty and blocks.
	Read(ctx context.Context, stream, after string, max int) (LogChunk, error)
}

// LogChunk is what one Read returned.
type LogChunk struct {
	Lines []LogLine
	// Next is the offset to pass to the next Read.
	Next string
	// Done: the stream is finished and every line was read.
	Done bool
}

// LogLine is one line of a log.
type LogLine struct {
	Offset string    // opaque; Read after it returns the lines that follow
	Time   time.Time // when it was appended
	Text   string
}
