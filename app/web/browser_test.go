package web

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// startBrowser starts Debian's chromium headless with a fresh profile and returns a tab.
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := execLookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		testenv.Missing(t, "chromium", "the browser tests drive Debian's chromium (apt-get install chromium)")
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("chromium at %s does not start: %v", path, err)
	}
	return ctx
}

// artifacts is where screenshots go: $TEST_ARTIFACTS, else a fixed folder under the temp dir
// that each run overwrites (kept after the test, so a person can look).
func artifacts(t *testing.T) string {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "openwrt-ppa-screenshots")
	}
	dir = filepath.Join(dir, "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(artifacts(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it holds. It polls from Go rather than with
// chromedp.Poll, which does not survive the navigations the conditions often wait for.
func waitFor(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+js+")"))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("waiting for %s (%s): timed out (last error: %v)", what, js, last)
}

func TestBrowser(t *testing.T) {
	fx := newFixture(t)
	ctx := startBrowser(t)
	base := fx.srv.URL

	t.Run("home and search", func(t *testing.T) {
		do(t, ctx, "open home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("ul.repos")))
		shot(t, ctx, "home")
		do(t, ctx, "search", chromedp.SendKeys(chromedp.CSS("#q"), "group\n"))
		waitFor(t, ctx, "search results", `location.search.includes("q=group") && document.querySelectorAll("ul.repos > li").length === 1`)
	})

	t.Run("choose an arch and copy the feed line", func(t *testing.T) {
		do(t, ctx, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("feed-line")))
		shot(t, ctx, "repo")
		if v := eval[bool](t, ctx, `document.querySelector("#feed-selector .nojs").hidden`); !v {
			t.Error("the Show button is not hidden when the selector works by itself")
		}
		// SetValue fires input and change, as a person choosing an option does; the page's
		// script then reloads the install lines.
		do(t, ctx, "choose x86_64", chromedp.SetValue(chromedp.ID("sel-arch"), "x86_64"))
		waitFor(t, ctx, "the x86_64 feed line", `document.getElementById("feed-line") && document.getElementById("feed-line").value.includes("/main/24.10/x86_64'")`)
		grant := chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			for _, name := range []string{"clipboard-read", "clipboard-write"} {
				if _, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetPermission, browser.SetPermissionParams{
					Permission: &browser.PermissionDescriptor{Name: name}, Setting: browser.PermissionSettingGranted, Origin: base,
				}); err != nil {
					return err
				}
			}
			return nil
		})
		do(t, ctx, "copy", grant, chromedp.Click(chromedp.CSS(`button[data-copy="feed-line"]`)))
		waitFor(t, ctx, "the button to say Copied", `document.querySelector('button[data-copy="feed-line"]').dataset.copied === "yes"`)
		got := eval[string](t, ctx, `navigator.clipboard.readText()`)
		want := "echo 'src/gz alice_packages " + base + "/alice/packages/main/24.10/x86_64' >> /etc/opkg/customfeeds.conf"
		if got != want {
			t.Errorf("clipboard holds %q, want %q", got, want)
		}
	})

	t.Run("feed listing", func(t *testing.T) {
		do(t, ctx, "open feed", chromedp.Click(chromedp.CSS(`.install a[href$="/main/24.10/x86_64/"]`)), chromedp.WaitVisible(chromedp.CSS("table.packages")))
		shot(t, ctx, "listing")
		if n := eval[int](t, ctx, `document.querySelectorAll("table.packages tbody tr").length`); n != 2 {
			t.Errorf("listing shows %d packages, want 2", n)
		}
	})

	t.Run("follow a running build and watch its log grow", func(t *testing.T) {
		do(t, ctx, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("branches-h")))
		do(t, ctx, "follow the running build", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/alice/packages/-/builds/%d"]`, fx.running.ID))))
		waitFor(t, ctx, "the build page", fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.includes("Build #%d")`, fx.running.ID))
		waitFor(t, ctx, "the log so far", `document.getElementById("log-text").textContent.includes("Updating feeds")`)
		stream := JobStreamName(fx.runningJob.ID)
		for i := 1; i <= 3; i++ {
			line := fmt.Sprintf("compiling step %d of 3", i)
			if err := fx.logs.Append(context.Background(), stream, line); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, line, fmt.Sprintf(`document.getElementById("log-text").textContent.includes(%q)`, line))
		}
		shot(t, ctx, "build-running")
		if _, err := fx.st.UpdateJob(context.Background(), fx.runningJob.ID, func(j *store.Job) error {
			j.Status, j.Finished = store.StatusSuccess, time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := fx.logs.Finish(context.Background(), stream); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, "the end of the log", `document.getElementById("log-note").textContent.includes("finished: success")`)
		text := eval[string](t, ctx, `document.getElementById("log-text").textContent`)
		if want := "Setting up the SDK\nUpdating feeds\ncompiling step 1 of 3\ncompiling step 2 of 3\ncompiling step 3 of 3\n"; text != want {
			t.Errorf("the live log reads %q, want %q", text, want)
		}
	})

	t.Run("anonymous: no Rebuild button, the API refuses", func(t *testing.T) {
		do(t, ctx, "open build", chromedp.Navigate(fmt.Sprintf("%s/alice/packages/-/builds/%d", base, fx.mainBuild.ID)), chromedp.WaitVisible(chromedp.ID("matrix-h")))
		shot(t, ctx, "build")
		if eval[bool](t, ctx, `document.getElementById("rebuild") !== null`) {
			t.Error("an anonymous visitor sees the Rebuild button")
		}
		status := eval[int](t, ctx, `fetch("/api/v1/repos/alice/packages/builds", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"ref":{"kind":"branch","name":"main"}}'}).then(r => r.status)`)
		if status != 401 {
			t.Errorf("anonymous POST to the API: %d, want 401", status)
		}
		// Check runs link a job's log as #job-<id>.
		do(t, ctx, "open a job link", chromedp.Navigate(fmt.Sprintf("%s/alice/packages/-/builds/%d#job-%d", base, fx.mainBuild.ID, fx.mainJobs[0].ID)))
		waitFor(t, ctx, "the job's log", `location.search === "?job=`+fmt.Sprint(fx.mainJobs[0].ID)+`" && document.getElementById("log-text") && document.getElementById("log-text").textContent.includes("hello built")`)
		do(t, ctx, "open builds", chromedp.Navigate(base+"/alice/packages/-/builds"), chromedp.WaitVisible(chromedp.CSS("table.builds")))
		shot(t, ctx, "builds")
		do(t, ctx, "open a missing page", chromedp.Navigate(base+"/alice/nothing"), chromedp.WaitVisible(chromedp.CSS("p.todo")))
		shot(t, ctx, "not-found")
	})

	t.Run("sign in, press Rebuild, see the new build", func(t *testing.T) {
		fx.forge.setLogin("alice")
		buildPath := fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID)
		do(t, ctx, "sign in", chromedp.Navigate(base+"/login?next="+buildPath), chromedp.WaitVisible(chromedp.CSS(`a[href^="/login?forge=github"]`)))
		shot(t, ctx, "login")
		do(t, ctx, "sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href^="/login?forge=github"]`)))
		waitFor(t, ctx, "the Rebuild button", `location.pathname === `+fmt.Sprintf("%q", buildPath)+` && document.getElementById("rebuild") !== null`)
		if who := eval[string](t, ctx, `document.querySelector(".who").textContent`); who != "alice" {
			t.Errorf("signed in as %q", who)
		}
		do(t, ctx, "press Rebuild", chromedp.Click(chromedp.ID("rebuild")))
		waitFor(t, ctx, "the new build's page", `location.pathname !== `+fmt.Sprintf("%q", buildPath)+` && document.querySelector("h1") && document.querySelector("h1").textContent.includes("Build #")`)
		latest, err := fx.st.LatestBuild(context.Background(), fx.repo.ID, store.Ref{Kind: store.RefBranch, Name: "main"})
		if err != nil {
			t.Fatal(err)
		}
		if path := eval[string](t, ctx, `location.pathname`); path != fmt.Sprintf("/alice/packages/-/builds/%d", latest.ID) || latest.Actor != "alice" || latest.Trigger != store.TriggerRerun {
			t.Errorf("after Rebuild the browser is at %s; newest build %+v", path, latest)
		}
		facts := eval[string](t, ctx, `document.querySelector("dl.facts").textContent`)
		if !strings.Contains(facts, "rerun (forced)") || !strings.Contains(facts, "alice") {
			t.Errorf("the new build's facts: %q", facts)
		}
		shot(t, ctx, "rebuilt")
	})

	t.Run("add a repository by its ssh URL, see its deploy key", func(t *testing.T) {
		do(t, ctx, "open the form", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-repo-link")), chromedp.Click(chromedp.ID("add-repo-link")), chromedp.WaitVisible(chromedp.ID("add-url")))
		do(t, ctx, "fill it in", chromedp.SendKeys(chromedp.ID("add-url"), "ssh://git@codeberg.org/erin/routers.git"), chromedp.SendKeys(chromedp.ID("add-name"), "erin/routers"))
		shot(t, ctx, "add-repo")
		do(t, ctx, "submit", chromedp.Click(chromedp.ID("add-submit")), chromedp.WaitVisible(chromedp.ID("deploy-key")))
		if key := eval[string](t, ctx, `document.getElementById("deploy-key").value`); !strings.HasPrefix(key, "ssh-ed25519 ") || !strings.Contains(key, "erin/routers") {
			t.Errorf("the deploy key shown: %q", key)
		}
		if hook := eval[string](t, ctx, `document.getElementById("webhook-url").value`); !strings.Contains(hook, "/webhooks/git/") {
			t.Errorf("the webhook URL shown: %q", hook)
		}
		shot(t, ctx, "added")
	})

	t.Run("usable at 390 px", func(t *testing.T) {
		do(t, ctx, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		for _, p := range []string{"/", "/alice/packages", fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID), "/alice/packages/-/builds", "/alice/packages/main/24.10/x86_64/", "/-/add"} {
			do(t, ctx, "open "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("footer")))
			overflow := eval[int](t, ctx, `document.documentElement.scrollWidth - window.innerWidth`)
			if overflow > 0 {
				t.Errorf("%s at 390 px: the page is %d px wider than the screen", p, overflow)
			}
		}
		do(t, ctx, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("feed-line")))
		shot(t, ctx, "repo-390")
		// The copy buttons and selectors are on screen and big enough to tap.
		offscreen := eval[[]string](t, ctx, `[...document.querySelectorAll("button.copy, select, #q")].filter(e => {
			const r = e.getBoundingClientRect(); return r.right > window.innerWidth || r.left < 0 || r.height < 24 }).map(e => e.id || e.dataset.copy)`)
		if len(offscreen) > 0 {
			t.Errorf("at 390 px these controls are cut off or too small: %v", offscreen)
		}
		do(t, ctx, "desktop viewport", chromedp.EmulateReset())
	})
}

func execLookPath(name string) (string, error) { return exec.LookPath(name) }
