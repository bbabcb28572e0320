package events

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/apptest"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/metrics"
	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/publish"
	"github.com/openwrt-ppa/openwrt-ppa/app/report"
	"github.com/openwrt-ppa/openwrt-ppa/app/upkeep"
	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	qsqlite "github.com/openwrt-ppa/openwrt-ppa/internal/queue/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
)

// harness is the event stage on the embedded store and queue, a fake forge and a feed storage
// that records; its clock is h.clock, which a test may move.
type harness struct {
	svc     *Processor
	janitor *upkeep.Janitor
	forge   *forgetest.Forge
	queue   *qsqlite.Queue
	feeds   *apptest.MemFeeds
	data    string
	clock   func() time.Time
}

const (
	queueLimit = 100
	prFeedTTL  = 1
)

func newHarness(t *testing.T) *harness { return newHarnessTTL(t, prFeedTTL) }

// newHarnessTTL is newHarness with closed pull requests' feeds kept for ttl.
func newHarnessTTL(t *testing.T, ttl time.Duration) *harness {
	t.Helper()
	dir := t.TempDir()
	st, q := apptest.Open(t, dir)
	cat, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{forge: forgetest.NewForge(forge.GitHub), queue: q, feeds: &apptest.MemFeeds{}, data: dir, clock: time.Now}
	now := func() time.Time { return h.clock() }
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New(nil)
	forges := model.Forges{forge.GitHub: h.forge}
	rep := &report.Reporter{Forges: forges, Store: st, BaseURL: "https://ppa.example.org", Metrics: m, Now: now}
	pub := &publish.Publisher{Feeds: h.feeds, Store: st, Data: datadir.Dir(dir), Metrics: m}
	h.svc, err = New(Config{Registry: "ghcr.io/openwrt/sdk", QueueLimit: queueLimit, PRFeedTTL: ttl},
		Deps{Store: st, Queue: q, Forges: forges, Catalogue: cat, Reporter: rep, Publisher: pub, Data: datadir.Dir(dir),
			Locker: inproc.NewLocker(), Logger: log, Metrics: m, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h.janitor = upkeep.New(upkeep.Config{PRFeedTTL: ttl}, upkeep.Deps{Store: st, Queue: q, Feeds: h.feeds, Data: datadir.Dir(dir), Logger: log, Now: now})
	return h
}

// queued is how many jobs wait in the queue.
func (h *harness) queued(t *testing.T) int {
	t.Helper()
	return apptest.Queued(t, h.queue)
}
