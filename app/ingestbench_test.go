package app_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

// BenchmarkWebhookIngestServe measures webhook ingestion through the whole of serve: the HTTP
// server, router and metrics, the GitHub webhook handler (signature, parse), the inbox with its
// replay guard and the embedded store's durable commit, and the answer — with the event loop
// running beside it as in production. Each op is one signed ~6 KB push with its own delivery id
// and body, sent by ingestSenders keep-alive connections at once; every one must be answered
// 202 (stored). BenchmarkWebhookDelivery in forge/github is the handler alone. It reports
// deliveries/s:
//
//	go test ./app -run '^$' -bench WebhookIngestServe -benchtime 20000x
func BenchmarkWebhookIngestServe(b *testing.B) {
	s := newIngestServer(b)
	sigs := make([]string, b.N)
	for i := range b.N {
		sigs[i] = s.sign(s.body(make([]byte, len(s.tmpl)), i))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: ingestSenders, MaxConnsPerHost: ingestSenders}}
	b.ResetTimer()
	start := time.Now()
	for range ingestSenders {
		wg.Go(func() {
			buf := make([]byte, len(s.tmpl))
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N || b.Failed() {
					return
				}
				code, err := s.post(client, fmt.Sprint("ingest-", i), sigs[i], s.body(buf, i))
				if err != nil || code != http.StatusAccepted {
					b.Errorf("delivery %d answered %d (%v), want 202 (stored)", i, code, err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(len(s.tmpl)), "body-bytes")
}

// ingestRepo is the repository of the project's push body.
const ingestRepo = "lede-fans/luci-app-demo"

// ingestSenders is how many deliveries are in flight at once (wrk -c32 in the figure).
const ingestSenders = 32

type ingestServer struct {
	url  string
	tmpl []byte // a push body; shaAt are the offsets of its commit ids, rewritten per delivery
	at   []int
}

// newIngestServer starts serve's runtime, pages included, as `openwrt-ppa serve` does, with the
// GitHub App pointing at a fake GitHub on loopback.
func newIngestServer(b *testing.B) *ingestServer {
	b.Helper()
	gh := forgetest.NewGitHub(b)
	gh.AddInstallation(ingestRepo, e2eInstall)
	cfg := ingestConfig(b.TempDir(), "127.0.0.1:0", githubAppKey(b, gh), gh.URL)
	// serve logs a line per delivery: formatting it is part of the work.
	url := serveUntilEnd(b, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), true)
	s := ingestBodies(b)
	s.url = url + "/webhooks/github"
	return s
}

// ingestBodies makes the push template the deliveries are written from.
func ingestBodies(t testing.TB) *ingestServer {
	t.Helper()
	s := &ingestServer{}
	const mark = "feedfacefeedfacefeedfacefeedfacefeedface"
	// A push of several commits is about 6 KB, as the issue measured: commits are added until
	// the body is that large.
	for n := 1; len(s.tmpl) < 6<<10 && n < 50; n++ {
		s.tmpl = forgetest.Rewrite(t, forgetest.Payload(t, "github/push/branch-updated.json"), func(doc map[string]any) {
			doc["ref"], doc["after"] = "refs/heads/ingest", mark
			forgetest.Obj(t, doc, "head_commit")["id"] = mark
			doc["installation"] = map[string]any{"id": e2eInstall}
			commits, _ := doc["commits"].([]any)
			for len(commits) > 0 && len(commits) < n {
				commits = append(commits, commits[0])
			}
			doc["commits"] = commits
		})
	}
	for i := 0; ; {
		j := bytes.Index(s.tmpl[i:], []byte(mark))
		if j < 0 {
			break
		}
		s.at = append(s.at, i+j)
		i += j + len(mark)
	}
	if len(s.at) < 2 || len(s.tmpl) < 6<<10 {
		t.Fatalf("the push body is %d bytes with %d commit ids to vary, want about 6 KB and 2", len(s.tmpl), len(s.at))
	}
	return s
}

// ingestConfig is serve's configuration for these deliveries: the GitHub App at a fake GitHub.
func ingestConfig(data, listen, keyFile, apiURL string) app.Config {
	return app.Config{
		Data: data, Listen: listen, Network: "none", Workers: 0, JobTimeout: time.Minute,
		QueueLimit: 100, KeepBuilds: 20, PRFeedTTL: time.Hour, ShutdownGrace: time.Second,
		GitHubAppID: forgetest.GitHubAppID, GitHubPrivateKeyFile: keyFile, GitHubAPIURL: apiURL,
		GitHubWebhookSecret: e2eSecret,
	}
}

// body writes delivery i's push into buf: the template with commit id i, so no two bodies are
// alike (the replay guard would drop a repeated one).
func (s *ingestServer) body(buf []byte, i int) []byte {
	copy(buf, s.tmpl)
	sha := fmt.Sprintf("%040x", 0xb0d1e5000000+i)
	for _, at := range s.at {
		copy(buf[at:], sha)
	}
	return buf
}

func (s *ingestServer) sign(body []byte) string {
	return forgetest.SignGitHub([]byte(e2eSecret), body)
}

// post sends body as the push delivery signed sig and returns the answer's status; an error
// when there was no answer.
func (s *ingestServer) post(c *http.Client, delivery, sig string, body []byte) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
