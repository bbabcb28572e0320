package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestFirstStepsOnAnEmptyService: a service with no repository says, on its home page (a real
// request through serve's router) and in its start-up log, the exact settings and commands of
// every way to a first repository; once a repository exists the home page lists it instead.
func TestFirstStepsOnAnEmptyService(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*app.Config)
		want []string // on the page and in the log line
	}{
		{"nothing configured", func(*app.Config) {}, []string{
			"https://ppa.example.org/webhooks/github", "--github-app-id ID --github-private-key-file app.pem --github-webhook-secret SECRET",
			"OPENWRT_PPA_GITHUB_APP_ID", "OPENWRT_PPA_GITHUB_WEBHOOK_SECRET",
			"https://ppa.example.org/webhooks/gitlab", "--gitlab-token TOKEN", "openwrt-ppa gitlab-secrets add --data ",
			"Push events, Tag push events, Comments, Merge request events",
			"openwrt-ppa build &lt;git URL or folder&gt;",
			"openwrt-ppa repos add &lt;https or ssh URL&gt; --server https://ppa.example.org --token ADMIN_TOKEN",
		}},
		{"GitLab configured", func(c *app.Config) { c.GitLabToken = "glpat-test" }, []string{
			"https://ppa.example.org/webhooks/gitlab", "This service talks to https://gitlab.example.org/",
			"--github-app-id ID", "openwrt-ppa build",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs testenv.SyncBuffer
			cfg := app.Config{Data: t.TempDir(), Listen: "127.0.0.1:0", PublicURL: "https://ppa.example.org",
				GitLabURL: "https://gitlab.example.org/", Network: "none", JobTimeout: time.Minute, QueueLimit: 10,
				KeepBuilds: 5, PRFeedTTL: time.Hour, ShutdownGrace: time.Second}
			tc.cfg(&cfg)
			ctx, cancel := context.WithCancel(context.Background())
			rt, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			web, err := rt.Web()
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- rt.Serve(ctx, ln, web) }()
			t.Cleanup(func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("serve: %v", err)
				}
				_ = rt.Close()
			})
			home := func() string {
				resp, err := http.Get("http://" + ln.Addr().String() + "/")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("home page: %d\n%s", resp.StatusCode, b)
				}
				return string(b)
			}
			page := home()
			var line string
			for deadline := time.Now().Add(5 * time.Second); line == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				for _, l := range strings.Split(logs.String(), "\n") {
					if strings.Contains(l, "ways to build a first one") {
						line = l
					}
				}
			}
			if line == "" {
				t.Fatalf("serve logged no first steps:\n%s", logs.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("the home page does not say %q:\n%s", w, page)
				}
				if w = strings.NewReplacer("&lt;", "<", "&gt;", ">").Replace(w); !strings.Contains(line, w) {
					t.Errorf("the log line does not say %q:\n%s", w, line)
				}
			}
			for _, key := range []string{"github_app=", "gitlab_webhook=", "local_build="} {
				if !strings.Contains(line, key) {
					t.Errorf("the log line has no %s:\n%s", key, line)
				}
			}

			if _, err := rt.Store.PutRepository(ctx, store.Repository{Forge: "github", ForgeID: "1", Owner: "alice", Name: "pkgs", DefaultBranch: "main"}); err != nil {
				t.Fatal(err)
			}
			if page := home(); strings.Contains(page, "Build a first repository") || !strings.Contains(page, "alice/pkgs") {
				t.Errorf("with a repository the home page still shows the first steps, or not the repository:\n%s", page)
			}
		})
	}
}
