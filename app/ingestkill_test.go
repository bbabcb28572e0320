package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// helperIngestEnv makes the test binary a serve process (DATA,ADDR,KEYFILE,APIURL) that
// TestAcceptedDeliveriesSurviveAKill kills.
const helperIngestEnv = "OPENWRT_PPA_HELPER_INGEST"

// TestHelperIngestServer is not a test: it is the service TestAcceptedDeliveriesSurviveAKill kills.
func TestHelperIngestServer(t *testing.T) {
	serveAsHelper(t, helperIngestEnv, "TestAcceptedDeliveriesSurviveAKill", func(spec string) app.Config {
		p := strings.SplitN(spec, ",", 4)
		return ingestConfig(p[0], p[1], p[2], p[3])
	})
}

// TestAcceptedDeliveriesSurviveAKill: serve is killed (SIGKILL, no shutdown) while deliveries
// are being committed together; every delivery it had answered 202 is in the store afterwards.
// The 202 waits for the group commit that holds the delivery, never only for the insert. (A
// kill keeps what reached the page cache; that a commit is on disk before it returns is
// SQLite's synchronous=FULL, which internal/store/sqlite sets.)
func TestAcceptedDeliveriesSurviveAKill(t *testing.T) {
	gh := forgetest.NewGitHub(t)
	gh.AddInstallation(ingestRepo, e2eInstall)
	keyFile := githubAppKey(t, gh)
	data, addr := t.TempDir(), testenv.FreeAddr(t)
	srv := testenv.StartHelper(t, "TestHelperIngestServer", helperIngestEnv+"="+strings.Join([]string{data, addr, keyFile, gh.URL}, ","), addr)

	s := ingestBodies(t)
	s.url = "http://" + addr + "/webhooks/github"
	const senders, killAfter = 16, 200
	var mu sync.Mutex
	var accepted []string
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: senders}}
	for w := range senders {
		wg.Go(func() {
			buf := make([]byte, len(s.tmpl))
			for i := w; ; i += senders {
				select {
				case <-killed:
					return
				default:
				}
				id := fmt.Sprint("kill-", i)
				body := s.body(buf, i)
				code, err := s.post(client, id, s.sign(body), body)
				if err != nil {
					return // the server is gone
				}
				if code != http.StatusAccepted {
					t.Errorf("delivery %s answered %d", id, code)
					return
				}
				mu.Lock()
				accepted = append(accepted, id)
				n := len(accepted)
				mu.Unlock()
				if n == killAfter {
					once.Do(func() {
						// Mid-flight: the other senders' deliveries are being read and committed.
						_ = srv.Process.Kill()
						close(killed)
					})
				}
			}
		})
	}
	select {
	case <-killed:
	case <-time.After(2 * time.Minute):
		t.Fatal("the server did not accept enough deliveries to be killed")
	}
	wg.Wait()
	_ = srv.Wait()

	rt, err := app.Open(context.Background(), ingestConfig(data, "127.0.0.1:0", keyFile, gh.URL), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	mu.Lock()
	defer mu.Unlock()
	for _, id := range accepted {
		// The store's own duplicate check says whether the delivery is there.
		_, err := rt.Store.AddEvent(context.Background(), store.Event{Forge: "github", DeliveryID: id, Kind: "push", Payload: []byte(`{}`)})
		if !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("delivery %s was answered 202 but is not in the store after the kill (%v)", id, err)
		}
	}
	t.Logf("%d deliveries answered 202 before and around the kill, all stored", len(accepted))
}
