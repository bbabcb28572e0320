package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/keyseal"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// BenchmarkWebhookToQueuedCheck measures what a developer waits for after a push: from just
// before a signed push webhook is posted to the moment the fake GitHub receives the "queued"
// check run for that push's commit (POST /repos/…/check-runs). Each op is one delivery with a
// new delivery id and a new commit; the next is posted once the previous check arrived. The
// service runs with the embedded store and no workers, so only the webhook, the event loop and
// the reporting are measured. It reports p50-ms and p99-ms over the b.N deliveries:
//
//	go test ./app -run '^$' -bench WebhookToQueuedCheck -benchtime 1000x
//
// Stores: "embedded" (SQLite) and "redis" (a real redis-server, as `serve --redis` runs). Modes:
// "new-branch": every push creates another branch, so the queue grows by one job each time.
// "same-branch": every push supersedes the previous one on main, whose queued job is cancelled
// and its check completed as cancelled before the new one is reported.
// "burst": new branches, but burstSenders deliveries in flight at once, as when many pushes
// land together: the latency then includes waiting behind the other deliveries.
func BenchmarkWebhookToQueuedCheck(b *testing.B) {
	for _, st := range []string{"embedded", "redis"} {
		for _, mode := range []string{"new-branch", "same-branch", "burst"} {
			b.Run(st+"/"+mode, func(b *testing.B) {
				s := newBenchService(b, st == "redis")
				branch := func(i int) string {
					if mode == "same-branch" {
						return "main"
					}
					return fmt.Sprintf("b%d", i)
				}
				// Warm up: the repository record, the installation token, the connections.
				s.deliverAndWait(b, "warm", branch(-1))
				bodies := make([][]byte, b.N)
				shas := make([]string, b.N)
				for i := range b.N {
					shas[i] = fmt.Sprintf("%040x", 0xbe000000+i)
					bodies[i] = s.pushBody(b, branch(i), shas[i])
				}
				lat := make([]time.Duration, b.N)
				senders := 1
				if mode == "burst" {
					senders = burstSenders
				}
				next := make(chan int)
				var wg sync.WaitGroup
				b.ResetTimer()
				for range senders {
					wg.Go(func() {
						for i := range next {
							lat[i] = s.post(b, fmt.Sprintf("bench-%s-%d", mode, i), shas[i], bodies[i])
						}
					})
				}
				for i := range b.N {
					next <- i
				}
				close(next)
				wg.Wait()
				b.StopTimer()
				if b.Failed() {
					return
				}
				slices.Sort(lat)
				b.ReportMetric(ms(percentile(lat, 50)), "p50-ms")
				b.ReportMetric(ms(percentile(lat, 99)), "p99-ms")
				b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
			})
		}
	}
}

// burstSenders is how many deliveries are in flight at once in the "burst" mode.
const burstSenders = 16

type benchService struct {
	gh      *forgetest.GitHub
	url     string
	client  *http.Client
	cfgYAML []byte

	mu      sync.Mutex
	waiting map[string]chan struct{} // head_sha → closed when its check run is created
}

func newBenchService(b *testing.B, redis bool) *benchService {
	b.Helper()
	s := &benchService{gh: forgetest.NewGitHub(b), waiting: map[string]chan struct{}{},
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
		cfgYAML: []byte("series: [\"24.10\"]\narchs: [x86_64]\nbranches: [\"*\"]\n")}
	s.gh.AddInstallation(e2eFull, e2eInstall)
	s.gh.Watch(func(c forgetest.Call) {
		if c.Method != http.MethodPost || c.Path != "/repos/"+e2eFull+"/check-runs" {
			return
		}
		var body struct {
			HeadSHA string `json:"head_sha"`
			Status  string `json:"status"`
		}
		if json.Unmarshal(c.Body, &body) != nil || body.Status != "queued" {
			return
		}
		s.mu.Lock()
		ch := s.waiting[body.HeadSHA]
		delete(s.waiting, body.HeadSHA)
		s.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	})
	cfg := app.Config{
		Data: b.TempDir(), Listen: "127.0.0.1:0", Network: "none", Workers: 0, JobTimeout: time.Minute,
		QueueLimit: 100, KeepBuilds: 20, PRFeedTTL: time.Hour, ShutdownGrace: time.Second,
		GitHubAppID: forgetest.GitHubAppID, GitHubPrivateKeyFile: githubAppKey(b, s.gh), GitHubAPIURL: s.gh.URL,
		GitHubWebhookSecret: e2eSecret,
	}
	if redis {
		kek, err := keyseal.GenerateKey()
		if err != nil {
			b.Fatal(err)
		}
		cfg.Redis, cfg.KeyEncryptionKey = testenv.StartRedis(b).URL(), app.Secret(kek)
	}
	s.url = serveUntilEnd(b, cfg, slog.New(slog.DiscardHandler), false)
	return s
}

// pushBody is a push of a new commit sha to branch, whose configuration the fake GitHub serves.
func (s *benchService) pushBody(b *testing.B, branch, sha string) []byte {
	s.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", s.cfgYAML)
	return forgetest.GitHubPush{Owner: e2eOwner, Name: e2eRepo, RepoID: e2eRepoID, CloneURL: "https://git.example.org/" + e2eFull + ".git",
		InstallationID: e2eInstall, Ref: "refs/heads/" + branch, Before: strings.Repeat("0", 40), After: sha}.Body(b)
}

func (s *benchService) deliverAndWait(b *testing.B, delivery, branch string) {
	sha := fmt.Sprintf("%040x", time.Now().UnixNano())
	if s.post(b, delivery, sha, s.pushBody(b, branch, sha)) < 0 {
		b.FailNow()
	}
}

// post delivers a signed push and returns the time until its queued check run arrived, or -1
// after reporting an error (it may run on other goroutines than the benchmark's).
func (s *benchService) post(b *testing.B, delivery, sha string, body []byte) time.Duration {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiting[sha] = ch
	s.mu.Unlock()
	req, err := forgetest.GitHubRequest(s.url+"/webhooks/github", "push", delivery, []byte(e2eSecret), body)
	if err != nil {
		b.Error(err)
		return -1
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return -1
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b.Errorf("delivery %s answered %d", delivery, resp.StatusCode)
		return -1
	}
	select {
	case <-ch:
		return time.Since(start)
	case <-time.After(time.Minute):
		b.Errorf("no queued check run for delivery %s (commit %s) within a minute", delivery, sha)
		return -1
	}
}

// percentile is the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
