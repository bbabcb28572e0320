package upkeep

import (
	"io"
	"log/slog"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/apptest"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
)

const sha1 = "1111111111111111111111111111111111111111"

// harness is a janitor on the embedded store and queue of a fresh data dir.
type harness struct {
	svc   *Janitor
	queue *qsqlite.Queue
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	st, q := apptest.Open(t, dir)
	return &harness{queue: q, svc: New(Config{PRFeedTTL: 1}, Deps{Store: st, Queue: q, Feeds: &apptest.MemFeeds{},
		Data: datadir.Dir(dir), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})}
}

// queued is how many jobs wait in the queue.
func (h *harness) queued(t *testing.T) int {
	t.Helper()
	return apptest.Queued(t, h.queue)
}
