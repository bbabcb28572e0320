package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestBrowser(t *testing.T) {
	fx := newFixture(t)
	br := testenv.StartBrowser(t, "web")
	base := fx.srv.URL

	t.Run("home and search", func(t *testing.T) {
		br.Do(t, "open home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("ul.repos")))
		br.Shot(t, "home")
		br.Do(t, "search", chromedp.SendKeys(chromedp.CSS("#q"), "group\n"))
		br.Wait(t, "search results", `location.search.includes("q=group") && document.querySelectorAll("ul.repos > li").length === 1`)
	})

	t.Run("choose an arch and copy the feed line", func(t *testing.T) {
		br.Do(t, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("feed-line")))
		br.Shot(t, "repo")
		if v := testenv.BrowserEval[bool](t, br, `document.querySelector("#feed-selector .nojs").hidden`); !v {
			t.Error("the Show button is not hidden when the selector works by itself")
		}
		// SetValue fires input and change, as a person choosing an option does; the page's
		// script then reloads the install lines.
		br.Do(t, "choose x86_64", chromedp.SetValue(chromedp.ID("sel-arch"), "x86_64"))
		br.Wait(t, "the x86_64 feed line", `document.getElementById("feed-line") && document.getElementById("feed-line").value.includes("/main/24.10/x86_64'")`)
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
		br.Do(t, "copy", grant, chromedp.Click(chromedp.CSS(`button[data-copy="feed-line"]`)))
		br.Wait(t, "the button to say Copied", `document.querySelector('button[data-copy="feed-line"]').dataset.copied === "yes"`)
		got := testenv.BrowserEval[string](t, br, `navigator.clipboard.readText()`)
		want := "echo 'src/gz alice_packages " + base + "/alice/packages/main/24.10/x86_64' >> /etc/opkg/customfeeds.conf"
		if got != want {
			t.Errorf("clipboard holds %q, want %q", got, want)
		}
	})

	t.Run("feed listing", func(t *testing.T) {
		br.Do(t, "open feed", chromedp.Click(chromedp.CSS(`.install a[href$="/main/24.10/x86_64/"]`)), chromedp.WaitVisible(chromedp.CSS("table.packages")))
		br.Shot(t, "listing")
		if n := testenv.BrowserEval[int](t, br, `document.querySelectorAll("table.packages tbody tr").length`); n != 2 {
			t.Errorf("listing shows %d packages, want 2", n)
		}
	})

	t.Run("follow a running build and watch its log grow", func(t *testing.T) {
		br.Do(t, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("branches-h")))
		br.Do(t, "follow the running build", chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/alice/packages/-/builds/%d"]`, fx.running.ID))))
		br.Wait(t, "the build page", fmt.Sprintf(`document.querySelector("h1") && document.querySelector("h1").textContent.includes("Build #%d")`, fx.running.ID))
		br.Wait(t, "the log so far", `document.getElementById("log-text").textContent.includes("Updating feeds")`)
		stream := JobStreamName(fx.runningJob.ID)
		for i := 1; i <= 3; i++ {
			line := fmt.Sprintf("compiling step %d of 3", i)
			if err := fx.logs.Append(context.Background(), stream, line); err != nil {
				t.Fatal(err)
			}
			br.Wait(t, line, fmt.Sprintf(`document.getElementById("log-text").textContent.includes(%q)`, line))
		}
		br.Shot(t, "build-running")
		if _, err := fx.st.UpdateJob(context.Background(), fx.runningJob.ID, func(j *store.Job) error {
			j.Status, j.Finished = store.StatusSuccess, time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := fx.logs.Finish(context.Background(), stream); err != nil {
			t.Fatal(err)
		}
		br.Wait(t, "the end of the log", `document.getElementById("log-note").textContent.includes("finished: success")`)
		text := testenv.BrowserEval[string](t, br, `document.getElementById("log-text").textContent`)
		if want := "Setting up the SDK\nUpdating feeds\ncompiling step 1 of 3\ncompiling step 2 of 3\ncompiling step 3 of 3\n"; text != want {
			t.Errorf("the live log reads %q, want %q", text, want)
		}
	})

	t.Run("anonymous: no Rebuild button, the API refuses", func(t *testing.T) {
		br.Do(t, "open build", chromedp.Navigate(fmt.Sprintf("%s/alice/packages/-/builds/%d", base, fx.mainBuild.ID)), chromedp.WaitVisible(chromedp.ID("matrix-h")))
		br.Shot(t, "build")
		if testenv.BrowserEval[bool](t, br, `document.getElementById("rebuild") !== null`) {
			t.Error("an anonymous visitor sees the Rebuild button")
		}
		status := testenv.BrowserEval[int](t, br, `fetch("/api/v1/repos/alice/packages/builds", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"ref":{"kind":"branch","name":"main"}}'}).then(r => r.status)`)
		if status != 401 {
			t.Errorf("anonymous POST to the API: %d, want 401", status)
		}
		// Check runs link a job's log as #job-<id>.
		br.Do(t, "open a job link", chromedp.Navigate(fmt.Sprintf("%s/alice/packages/-/builds/%d#job-%d", base, fx.mainBuild.ID, fx.mainJobs[0].ID)))
		br.Wait(t, "the job's log", `location.search === "?job=`+fmt.Sprint(fx.mainJobs[0].ID)+`" && document.getElementById("log-text") && document.getElementById("log-text").textContent.includes("hello built")`)
		br.Do(t, "open builds", chromedp.Navigate(base+"/alice/packages/-/builds"), chromedp.WaitVisible(chromedp.CSS("table.builds")))
		br.Shot(t, "builds")
		br.Do(t, "open a missing page", chromedp.Navigate(base+"/alice/nothing"), chromedp.WaitVisible(chromedp.CSS("p.todo")))
		br.Shot(t, "not-found")
	})

	t.Run("sign in, press Rebuild, see the new build", func(t *testing.T) {
		fx.forge.setLogin("alice")
		buildPath := fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID)
		br.Do(t, "sign in", chromedp.Navigate(base+"/login?next="+buildPath), chromedp.WaitVisible(chromedp.CSS(`a[href^="/login?forge=github"]`)))
		br.Shot(t, "login")
		br.Do(t, "sign in with GitHub", chromedp.Click(chromedp.CSS(`a[href^="/login?forge=github"]`)))
		br.Wait(t, "the Rebuild button", `location.pathname === `+fmt.Sprintf("%q", buildPath)+` && document.getElementById("rebuild") !== null`)
		if who := testenv.BrowserEval[string](t, br, `document.querySelector(".who").textContent`); who != "alice" {
			t.Errorf("signed in as %q", who)
		}
		br.Do(t, "press Rebuild", chromedp.Click(chromedp.ID("rebuild")))
		br.Wait(t, "the new build's page", `location.pathname !== `+fmt.Sprintf("%q", buildPath)+` && document.querySelector("h1") && document.querySelector("h1").textContent.includes("Build #")`)
		latest, err := fx.st.LatestBuild(context.Background(), fx.repo.ID, store.Ref{Kind: store.RefBranch, Name: "main"})
		if err != nil {
			t.Fatal(err)
		}
		if path := testenv.BrowserEval[string](t, br, `location.pathname`); path != fmt.Sprintf("/alice/packages/-/builds/%d", latest.ID) || latest.Actor != "alice" || latest.Trigger != store.TriggerRerun {
			t.Errorf("after Rebuild the browser is at %s; newest build %+v", path, latest)
		}
		facts := testenv.BrowserEval[string](t, br, `document.querySelector("dl.facts").textContent`)
		if !strings.Contains(facts, "rerun (forced)") || !strings.Contains(facts, "alice") {
			t.Errorf("the new build's facts: %q", facts)
		}
		br.Shot(t, "rebuilt")
	})

	t.Run("add a repository by its ssh URL, see its deploy key", func(t *testing.T) {
		br.Do(t, "open the form", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("add-repo-link")), chromedp.Click(chromedp.ID("add-repo-link")), chromedp.WaitVisible(chromedp.ID("add-url")))
		br.Do(t, "fill it in", chromedp.SendKeys(chromedp.ID("add-url"), "ssh://git@codeberg.org/erin/routers.git"), chromedp.SendKeys(chromedp.ID("add-name"), "erin/routers"))
		br.Shot(t, "add-repo")
		br.Do(t, "submit", chromedp.Click(chromedp.ID("add-submit")), chromedp.WaitVisible(chromedp.ID("deploy-key")))
		if key := testenv.BrowserEval[string](t, br, `document.getElementById("deploy-key").value`); !strings.HasPrefix(key, "ssh-ed25519 ") || !strings.Contains(key, "erin/routers") {
			t.Errorf("the deploy key shown: %q", key)
		}
		if hook := testenv.BrowserEval[string](t, br, `document.getElementById("webhook-url").value`); !strings.Contains(hook, "/webhooks/git/") {
			t.Errorf("the webhook URL shown: %q", hook)
		}
		br.Shot(t, "added")
	})

	t.Run("usable at 390 px", func(t *testing.T) {
		br.Do(t, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		for _, p := range []string{"/", "/alice/packages", fmt.Sprintf("/alice/packages/-/builds/%d", fx.mainBuild.ID), "/alice/packages/-/builds", "/alice/packages/main/24.10/x86_64/", "/-/add"} {
			br.Do(t, "open "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("footer")))
			overflow := testenv.BrowserEval[int](t, br, `document.documentElement.scrollWidth - window.innerWidth`)
			if overflow > 0 {
				t.Errorf("%s at 390 px: the page is %d px wider than the screen", p, overflow)
			}
		}
		br.Do(t, "open repository", chromedp.Navigate(base+"/alice/packages"), chromedp.WaitVisible(chromedp.ID("feed-line")))
		br.Shot(t, "repo-390")
		// The copy buttons and selectors are on screen and big enough to tap.
		offscreen := testenv.BrowserEval[[]string](t, br, `[...document.querySelectorAll("button.copy, select, #q")].filter(e => {
			const r = e.getBoundingClientRect(); return r.right > window.innerWidth || r.left < 0 || r.height < 24 }).map(e => e.id || e.dataset.copy)`)
		if len(offscreen) > 0 {
			t.Errorf("at 390 px these controls are cut off or too small: %v", offscreen)
		}
		br.Do(t, "desktop viewport", chromedp.EmulateReset())
	})
}
