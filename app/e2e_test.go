package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const zeroSHA = "0000000000000000000000000000000000000000"

const e2eConfig = "series: [\"24.10\"]\narchs: [x86_64]\nbranches: [main, \"release/*\"]\n"

// TestEndToEnd drives the service through its life with real parts: signed webhooks, the
// embedded store and queue, the SDK stand-in on Docker, a git server, signify-openbsd.
func TestEndToEnd(t *testing.T) {
	e := newE2E(t)
	e.start()
	ctx := context.Background()

	// 1. A signed push → queued check → built → the feed is served, signed, downloadable.
	sha1 := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0", "world": "2.0"}))
	e.gh.SetFile(e2eFull, sha1, ".openwrt-ppa.yml", []byte(e2eConfig))
	if code := e.push("p1", "main", zeroSHA, sha1); code != http.StatusAccepted {
		t.Fatalf("push webhook answered %d, want 202", code)
	}
	b1 := e.waitBuilds(1)[0]
	if b1.Status != store.StatusSuccess {
		t.Fatalf("first build %+v", b1)
	}
	j1 := e.jobs(b1.ID)
	if len(j1) != 1 || j1[0].Attempts != 1 {
		t.Fatalf("jobs %+v", j1)
	}
	listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub")
	if listed["hello"] != "1.0-r1" || listed["world"] != "2.0-r1" || len(listed) != 2 {
		t.Fatalf("feed lists %v", listed)
	}
	// Owner and repository match case-insensitively.
	if code, _ := e.get("/Alice/PKGS/main/24.10/x86_64/Packages"); code != http.StatusOK {
		t.Errorf("case-insensitive feed URL answered %d", code)
	}
	run := e.checkRun(j1[0])
	if run["status"] != "completed" || run["conclusion"] != "success" || run["name"] != "openwrt-ppa: 24.10/x86_64" {
		t.Fatalf("check run %v", run)
	}
	if sum := summaryOf(run); !strings.Contains(sum, "/alice/pkgs/main/24.10/x86_64") || !strings.Contains(sum, "hello") {
		t.Errorf("check summary lacks the feed or the packages:\n%s", sum)
	}
	seq := e.gh.Sequence()
	if !containsInOrder(seq, "POST /repos/alice/pkgs/check-runs", "PATCH /repos/alice/pkgs/check-runs/"+j1[0].CheckRunID) {
		t.Errorf("check run calls %v", seq)
	}

	// The repository page shows the install lines; the API lists the build.
	fp := e.fingerprint("/alice/pkgs/-/key.pub")
	if code, page := e.get("/alice/pkgs"); code != http.StatusOK || !strings.Contains(string(page), fp) ||
		!strings.Contains(string(page), "/alice/pkgs/main/24.10/x86_64") {
		t.Errorf("repository page: %d, lacks the key fingerprint %s or the feed line", code, fp)
	}
	if code, body := e.get("/api/v1/repos/alice/pkgs/builds"); code != http.StatusOK || !strings.Contains(string(body), `"commit": "`+sha1+`"`) {
		t.Errorf("API builds: %d %s", code, body)
	}

	// 2. The same commit pushed again (a new delivery): the result is reused, no container runs.
	if code := e.push("p2", "main", sha1, sha1); code != http.StatusAccepted {
		t.Fatalf("second push answered %d", code)
	}
	b2 := e.waitBuilds(2)[0]
	j2 := e.jobs(b2.ID)
	if b2.Status != store.StatusSuccess || len(j2) != 1 || j2[0].Attempts != 0 {
		t.Fatalf("a reused job must never start on a worker: build %+v jobs %+v", b2, j2)
	}
	var res struct {
		ReusedFrom int64 `json:"reused_from"`
	}
	_ = json.Unmarshal(j2[0].Result, &res)
	if res.ReusedFrom != j1[0].ID {
		t.Fatalf("job result %s does not name the reused job %d", j2[0].Result, j1[0].ID)
	}
	if run := e.checkRun(j2[0]); run["conclusion"] != "success" {
		t.Fatalf("reused check run %v", run)
	}
	// A redelivery of the same delivery id is acknowledged and not processed again.
	if code := e.push("p2", "main", sha1, sha1); code != http.StatusOK {
		t.Fatalf("redelivery answered %d, want 200", code)
	}
	// A captured delivery replayed under a new delivery id (not covered by the signature) is
	// acknowledged as seen and builds nothing.
	if code := e.push("p1-replayed", "main", zeroSHA, sha1); code != http.StatusOK {
		t.Fatalf("replayed body under a new delivery id answered %d, want 200", code)
	}

	// 3. /rebuild on a pull request: an outsider is refused, a writer gets a preview feed.
	prSHA := e.git.Commit(t, e2eRepo, "feature", repoFiles(e2eConfig, map[string]string{"hello": "1.1", "world": "2.0"}))
	testenv.Git(t, e.git.Root+"/"+e2eRepo+".git", "update-ref", "refs/pull/5/head", prSHA)
	e.gh.SetFile(e2eFull, prSHA, ".openwrt-ppa.yml", []byte(e2eConfig))
	e.gh.SetPull(e2eFull, 5, prSHA, "feature", "main", 424242, e2eRepoID)
	e.gh.SetPermission(e2eFull, "stranger", "read")
	e.gh.SetPermission(e2eFull, "maintainer", "write")
	// The fork's pull request is opened (and not built) before anyone comments on it.
	if code := e.pullFrom("pr5", "opened", 5, prSHA, time.Now().Add(-time.Minute), true); code != http.StatusAccepted {
		t.Fatalf("pull request webhook answered %d", code)
	}
	if code := e.comment("c1", 5, "stranger", "/rebuild"); code != http.StatusAccepted {
		t.Fatalf("comment webhook answered %d", code)
	}
	waitFor(t, "a reply to the outsider", func() bool {
		for _, c := range e.gh.Comments() {
			if strings.Contains(c["body"].(string), "only people with write access") {
				return true
			}
		}
		return false
	})
	if code := e.comment("c2", 5, "maintainer", "/rebuild"); code != http.StatusAccepted {
		t.Fatalf("comment webhook answered %d", code)
	}
	b3 := e.waitBuilds(3)[0]
	if b3.Ref != store.PRRef(5) || b3.CommitSHA != prSHA || b3.Status != store.StatusSuccess || b3.Actor != "maintainer" {
		t.Fatalf("pull request build %+v", b3)
	}
	if listed := e.verifyFeed("/alice/pkgs/-/pr/5/24.10/x86_64/", "/alice/pkgs/-/preview-key.pub"); listed["hello"] != "1.1-r1" {
		t.Fatalf("pull request feed lists %v", listed)
	}
	// The main key must not verify a pull request's feed.
	if _, main := e.get("/alice/pkgs/-/key.pub"); main != nil {
		_, preview := e.get("/alice/pkgs/-/preview-key.pub")
		if string(main) == string(preview) {
			t.Fatal("pull request feeds are signed with the main key")
		}
	}
	// The branch feed is untouched by the pull request.
	if listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub"); listed["hello"] != "1.0-r1" {
		t.Fatalf("branch feed changed: %v", listed)
	}

	// 6. A release branch builds, then its deletion removes its feeds and nothing else.
	relSHA := e.git.Commit(t, e2eRepo, "release/1.x", repoFiles(e2eConfig, map[string]string{"hello": "1.0", "world": "2.0"}))
	e.gh.SetFile(e2eFull, relSHA, ".openwrt-ppa.yml", []byte(e2eConfig))
	e.push("p3", "release/1.x", zeroSHA, relSHA)
	e.waitBuilds(4)
	if code, _ := e.get("/alice/pkgs/release~1.x/24.10/x86_64/Packages"); code != http.StatusOK {
		t.Fatalf("release branch feed answered %d", code)
	}
	if code := e.push("p4", "release/1.x", relSHA, zeroSHA); code != http.StatusAccepted {
		t.Fatalf("branch deletion answered %d", code)
	}
	waitFor(t, "the deleted branch's feed to go", func() bool {
		code, _ := e.get("/alice/pkgs/release~1.x/24.10/x86_64/Packages")
		return code == http.StatusNotFound
	})
	if code, _ := e.get("/alice/pkgs/main/24.10/x86_64/Packages"); code != http.StatusOK {
		t.Fatalf("deleting a branch removed main's feed: %d", code)
	}
	code, metrics := e.get("/metrics")
	for _, want := range []string{`openwrt_ppa_webhooks_total{event="push",forge="github",result="Accepted"}`,
		`openwrt_ppa_feed_bytes{repository="alice/pkgs"}`, `openwrt_ppa_first_report_seconds_count 4`,
		`openwrt_ppa_job_duration_seconds_count{result="success"}`, `openwrt_ppa_publish_duration_seconds_count`} {
		if code != http.StatusOK || !strings.Contains(string(metrics), want) {
			t.Errorf("metrics (%d) lack %s", code, want)
		}
	}
	_ = ctx
}

// TestRestartLosesNoQueuedJob stops the service with jobs queued and no worker, starts it again
// with one, and sees every job built.
func TestRestartLosesNoQueuedJob(t *testing.T) {
	e := newE2E(t)
	e.cfg.Workers = 0
	e.start()
	// The stand-in builds for x86_64 only, so the second job is another series.
	cfg := strings.Replace(e2eConfig, `series: ["24.10"]`, `series: ["23.05", "24.10"]`, 1)
	sha := e.git.Commit(t, e2eRepo, "main", repoFiles(cfg, map[string]string{"hello": "1.0"}))
	e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(cfg))
	if code := e.push("r1", "main", zeroSHA, sha); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	waitFor(t, "two queued jobs", func() bool {
		n, err := e.rt.Queue.Len(context.Background())
		return err == nil && n == 2
	})
	e.stop()

	e.cfg.Workers = 1
	e.start()
	b := e.waitBuilds(1)[0]
	for _, j := range e.jobs(b.ID) {
		if j.Status != store.StatusSuccess {
			t.Errorf("job %d (%s/%s) is %s after the restart", j.ID, j.Series, j.Arch, j.Status)
		}
	}
	if code, _ := e.get("/alice/pkgs/main/23.05/x86_64/Packages"); code != http.StatusOK {
		t.Fatalf("feed after restart answered %d", code)
	}
}

func (e *e2e) checkRun(j store.Job) map[string]any {
	e.t.Helper()
	id, err := strconv.ParseInt(j.CheckRunID, 10, 64)
	if err != nil {
		e.t.Fatalf("job %d has no check run id (%q)", j.ID, j.CheckRunID)
	}
	run := e.gh.CheckRun(id)
	if run == nil {
		e.t.Fatalf("check run %d unknown to the fake GitHub", id)
	}
	return run
}

func summaryOf(run map[string]any) string {
	out, _ := run["output"].(map[string]any)
	s, _ := out["summary"].(string)
	return s
}

func containsInOrder(seq []string, want ...string) bool {
	i := 0
	for _, s := range seq {
		if i < len(want) && s == want[i] {
			i++
		}
	}
	return i == len(want)
}

// fingerprint reads the key file at path and returns its 16-hex fingerprint, the file name
// routers keep it under.
func (e *e2e) fingerprint(path string) string {
	e.t.Helper()
	code, b := e.get(path)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: %d", path, code)
	}
	pk, err := usign.ParsePublicKey(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return pk.Fingerprint.String()
}
