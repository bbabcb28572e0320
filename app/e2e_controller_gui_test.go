package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// guiConfig builds two series, so a build has more than one job to show.
const guiConfig = "series: [\"23.05\", \"24.10\"]\narchs: [x86_64]\nbranches: [main]\n"

// TestControllerGUIOnCluster: the web GUI shows the same Repositories and Builds whichever way
// they came in. serve --kubernetes on the real cluster (the controller under exactly
// kubeapi.PolicyRules, builds on Docker with the SDK stand-in) gets one repository from
// `kubectl apply` of a Repository, one from the admin API (POST /api/v1/repos) and one from a
// signed GitHub push webhook; chromium then finds all three in the repository list, and the
// Build made with `kubectl create` on the build page with the jobs and states its status names.
func TestControllerGUIOnCluster(t *testing.T) {
	// Without OPENWRT_PPA_TEST_KUBECONFIG this skips saying so (fails under CI).
	c := newControllerE2E(t)
	e, gs, kc, k, group := c.e, c.git, c.kc, c.k, c.group
	builds := "builds." + group
	e.cfg.AdminToken = urlAdmin
	e.start()

	// 1. The three ways in: a Repository object, the admin API, a GitHub push webhook.
	gs.Commit(t, "carol/feed", "main", repoFiles(guiConfig, map[string]string{"hello": "1.0"}))
	kc.must(fmt.Sprintf("apiVersion: %s/v1alpha1\nkind: Repository\nmetadata: {name: feed}\nspec:\n  source: {git: %q}\n",
		group, gs.RepoURL("carol/feed")), "apply", "-f", "-")
	gs.Commit(t, "dave/tools", "main", repoFiles(e2eConfig, map[string]string{"tool": "0.1"}))
	if code, out := e.api("POST", "/api/v1/repos", `{"url": "`+gs.RepoURL("dave/tools")+`"}`); code != http.StatusCreated {
		t.Fatalf("POST /api/v1/repos: %d %v", code, out)
	}
	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"world": "2.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("gui-push", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push webhook answered %d, want 202", code)
	}
	first := e.waitRepoBuilds("carol", "feed", 1)[0]
	for _, r := range []struct{ owner, name string }{{"dave", "tools"}, {e2eOwner, e2eRepo}} {
		if b := e.waitRepoBuilds(r.owner, r.name, 1)[0]; b.Status != store.StatusSuccess {
			t.Fatalf("the first build of %s/%s: %+v", r.owner, r.name, b)
		}
	}
	mirrored := fmt.Sprintf("feed-%d", first.ID)
	waitPhase(t, kc, builds, mirrored, "Succeeded")

	// 2. A Build made with kubectl: the controller starts it; its status names its jobs.
	kc.must(fmt.Sprintf("apiVersion: %s/v1alpha1\nkind: Build\nmetadata: {name: from-kubectl}\nspec: {repository: feed, ref: main, force: true}\n", group),
		"create", "-f", "-")
	waitPhase(t, kc, builds, "from-kubectl", "Succeeded")
	obj, _ := kc.object(builds, "from-kubectl")
	var id int64
	if _, err := fmt.Sscan(fmt.Sprint(field(obj, "metadata", "labels", kubeapi.LabelBuildID)), &id); err != nil {
		t.Fatalf("the Build names no stored build: %v", field(obj, "metadata", "labels"))
	}
	statusJobs, _ := field(obj, "status", "jobs").([]any)
	if len(statusJobs) != 2 {
		t.Fatalf("the Build's status has %d jobs, want one per series: %v", len(statusJobs), statusJobs)
	}

	br := testenv.StartBrowser(t, "controller")
	base := e.url

	// 3. The repository list holds all three, each with its main branch built.
	br.Do(t, "open home", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("ul.repos")))
	br.Shot(t, "home")
	listed := testenv.BrowserEval[[]string](t, br, `[...document.querySelectorAll("ul.repos > li")].map(li =>
		li.querySelector("a.repo").textContent + " " + li.querySelector("span.forge").textContent + " " +
		[...li.querySelectorAll("ul.branches > li")].map(b => b.querySelector(".ref").textContent + ":" + b.querySelector(".status").title).join(","))`)
	slices.Sort(listed)
	if want := []string{"alice/pkgs GitHub main:success", "carol/feed git main:success", "dave/tools git main:success"}; !slices.Equal(listed, want) {
		t.Errorf("the repository list shows %q, want %q", listed, want)
	}

	// 4. The repository's builds: the one polling started (mirrored as a Build) and kubectl's.
	br.Do(t, "open builds", chromedp.Navigate(base+"/carol/feed/-/builds"), chromedp.WaitVisible(chromedp.CSS("table.builds")))
	br.Shot(t, "builds")
	rows := testenv.BrowserEval[[]string](t, br, `[...document.querySelectorAll("table.builds tbody tr")].map(r =>
		[r.cells[0].textContent, r.cells[1].querySelector(".status").title, r.cells[2].textContent, r.cells[4].textContent].map(s => s.trim()).join(" "))`)
	by := "kubernetes:" + k.Namespace + "/from-kubectl"
	polled := fmt.Sprintf("#%d success main %s", first.ID, first.Trigger)
	if first.Actor != "" {
		polled += " by " + first.Actor
	}
	for _, want := range []string{polled, fmt.Sprintf("#%d success main api by %s", id, by)} {
		if !slices.ContainsFunc(rows, func(r string) bool { return r == want }) {
			t.Errorf("the builds page has no row %q: %q", want, rows)
		}
	}

	// 5. kubectl's Build on the build page: its state, who asked, and the jobs of its status.
	buildPath := fmt.Sprintf("/carol/feed/-/builds/%d", id)
	br.Do(t, "open the build", chromedp.Navigate(base+buildPath), chromedp.WaitVisible(chromedp.ID("matrix-h")))
	br.Shot(t, "build")
	if h := testenv.BrowserEval[string](t, br, `document.querySelector("h1 .status").title`); h != "success" {
		t.Errorf("the build page says %q, the Build's phase is Succeeded", h)
	}
	facts := testenv.BrowserEval[string](t, br, `document.querySelector("dl.facts").textContent`)
	if !strings.Contains(facts, "api (forced)") || !strings.Contains(facts, by) {
		t.Errorf("the build's facts %q lack the forced trigger or %s", facts, by)
	}
	cells := testenv.BrowserEval[[]string](t, br, `[...document.querySelectorAll("table.matrix tbody tr")].flatMap(r =>
		[...r.querySelectorAll("a.job")].map(a => r.querySelector("th").textContent + " " + a.querySelector(".status").title))`)
	slices.Sort(cells)
	if want := []string{"23.05 success", "24.10 success"}; !slices.Equal(cells, want) {
		t.Errorf("the build's jobs show %q, want %q", cells, want)
	}
	for _, sj := range statusJobs {
		j := sj.(map[string]any)
		series, arch, state, logURL := fmt.Sprint(j["series"]), fmt.Sprint(j["arch"]), fmt.Sprint(j["state"]), fmt.Sprint(j["logURL"])
		if state != "Succeeded" || !strings.HasPrefix(logURL, base+buildPath+"#job-") {
			t.Errorf("the Build's job %v", j)
			continue
		}
		// The log URL of the status opens the job's log on the build page (#job-<id> becomes
		// ?job=<id>, a page of its own).
		br.Do(t, "open "+logURL, chromedp.Navigate(logURL))
		job := logURL[strings.LastIndex(logURL, "#job-")+len("#job-"):]
		br.Wait(t, "the log of "+series+"/"+arch, `location.search === "?job=`+job+`" && document.readyState === "complete" && document.getElementById("log-h") && document.getElementById("log-h").textContent.includes(`+
			fmt.Sprintf("%q", "Log of "+series+"/"+arch)+`) && document.getElementById("log-text")`)
		if s := testenv.BrowserEval[string](t, br, `document.querySelector("#log-status .status").title`); s != "success" {
			t.Errorf("the log of %s/%s says %q, the Build's status %s", series, arch, s, state)
		}
		var want []string
		pkgs, _ := j["packages"].([]any)
		for _, p := range pkgs {
			pm := p.(map[string]any)
			want = append(want, fmt.Sprint(pm["name"], " ", pm["version"]))
		}
		got := testenv.BrowserEval[[]string](t, br, fmt.Sprintf(`[...document.querySelectorAll('section.result[aria-label="Packages of %s/%s"] table.packages tbody tr')].map(r =>
			r.cells[0].textContent + " " + r.cells[1].textContent)`, series, arch))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("%s/%s: the page lists packages %q, the Build's status %q", series, arch, got, want)
		}
	}
	br.Shot(t, "build-log")
}
