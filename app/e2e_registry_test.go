package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestServeFollowsTheRegistry: serve without --image follows a real registry (Debian's
// docker-registry on loopback) holding the stand-in under several tags. It plans with the newest
// point release of the arch (not a release candidate, not a target's tag, the -v tag when that is
// the only one), pulls that image, and the check and the build page say which point release
// built the feed; a release pushed while serve runs is used without a restart, and when the
// registry goes away serve keeps its last answer and says so.
func TestServeFollowsTheRegistry(t *testing.T) {
	e := newE2E(t)
	cli := testenv.NeedDocker(t)
	reg := testenv.StartRegistry(t)
	repo := reg.Addr + "/wt-reg/sdk"
	t.Cleanup(func() { removeImagesOf(t, cli, repo) })
	for _, tag := range []string{"x86_64-24.10.4", "x86_64-v24.10.5", "x86_64-24.10.8-rc1", "x86-64-24.10.9", "x86-64-v24.10.9", "mips_24kc-24.10.9"} {
		testenv.PushImage(t, cli, e.image, repo+":"+tag) // the local tag is removed again
	}
	logs := &testenv.SyncBuffer{}
	e.cfg.Image, e.cfg.Registry, e.cfg.CatalogueRefresh = "", repo, 300*time.Millisecond
	e.cfg.AdminToken = urlAdmin
	e.pullImages, e.logs = true, logs
	e.start()

	refreshed := func(release string) func() bool {
		re := regexp.MustCompile(`msg="SDK catalogue refreshed" repository=` + regexp.QuoteMeta(repo) + ` series=24\.10 releases=\S*` + regexp.QuoteMeta(release))
		return func() bool { return re.MatchString(logs.String()) }
	}
	build := func(n int, version, release, tag string) {
		t.Helper()
		sha := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": version}))
		e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
		if code := e.push("r"+version, "main", zeroSHA, sha); code != http.StatusAccepted {
			t.Fatalf("push webhook answered %d, want 202", code)
		}
		b := e.waitBuilds(n)[0]
		js := e.jobs(b.ID)
		if b.Status != store.StatusSuccess || len(js) != 1 {
			var res []string
			for _, j := range js {
				res = append(res, j.Image+": "+string(j.Status)+" "+string(j.Result))
			}
			t.Fatalf("build %d of %s: %s; jobs %v", b.ID, version, b.Status, res)
		}
		if js[0].Image != repo+":"+tag {
			t.Fatalf("the job built in %s, want %s:%s (point release %s)", js[0].Image, repo, tag, release)
		}
		if _, err := cli.ImageInspect(context.Background(), js[0].Image); err != nil {
			t.Errorf("%s is not on the engine after the build: %v", js[0].Image, err)
		}
		if sum := summaryOf(e.checkRun(js[0])); !strings.Contains(sum, "Built with the OpenWrt "+release+" SDK.") {
			t.Errorf("the check does not say that %s built it:\n%s", release, sum)
		}
		if code, page := e.get("/alice/pkgs/-/builds/" + strconv.FormatInt(b.ID, 10)); code != http.StatusOK || !strings.Contains(string(page), "OpenWrt "+release+" SDK") {
			t.Errorf("the build page (%d) does not say that %s built it", code, release)
		}
		if listed := e.verifyFeed("/alice/pkgs/main/24.10/x86_64/", "/alice/pkgs/-/key.pub"); listed["hello"] != version+"-r1" {
			t.Errorf("the feed lists %v, want hello %s", listed, version)
		}
	}

	// The newest release of x86_64 the registry has is 24.10.5, under its -v tag only; the engine
	// has none of these tags, so the executor pulls it.
	waitFor(t, "the first refresh", refreshed("24.10.5"))
	if _, err := cli.ImageInspect(context.Background(), repo+":x86_64-v24.10.5"); !cerrdefs.IsNotFound(err) {
		t.Fatalf("the engine has %s before the build (%v): the pull would not be tested", repo+":x86_64-v24.10.5", err)
	}
	build(1, "1.0", "24.10.5", "x86_64-v24.10.5")
	if !strings.Contains(logs.String(), `msg="pulling SDK image" image=`+repo+":x86_64-v24.10.5") {
		t.Errorf("the executor did not pull %s:x86_64-v24.10.5", repo)
	}

	// A release pushed while serve runs is planned with at the next refresh.
	testenv.PushImage(t, cli, e.image, repo+":x86_64-24.10.7")
	waitFor(t, "the refresh that finds 24.10.7", refreshed("24.10.7"))
	build(2, "1.1", "24.10.7", "x86_64-24.10.7")

	// The registry goes away: serve warns, names the last answer it keeps, and builds with it.
	reg.Stop()
	failed := regexp.MustCompile(`msg="SDK catalogue refresh failed[^"]*" repository=` + regexp.QuoteMeta(repo) + ` in_use="last answer of [^"]+" releases="[^"]*24\.10=\S*24\.10\.7`)
	waitFor(t, "the warning that the registry is gone", func() bool { return failed.MatchString(logs.String()) })
	build(3, "1.2", "24.10.7", "x86_64-24.10.7")

	// An operator sees the same through the admin API: the registry asked, the last answer in
	// use, the error with what to do.
	code, body := e.getAs("/api/v1/admin/status", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+urlAdmin) })
	var status struct {
		Catalogue struct {
			Source, Releases, Error string
			InUse                   string    `json:"in_use"`
			LastOK                  time.Time `json:"last_ok"`
		}
	}
	if err := json.Unmarshal(body, &status); code != http.StatusOK || err != nil {
		t.Fatalf("admin status: %d %v\n%s", code, err, body)
	}
	c := status.Catalogue
	if c.Source != "registry "+repo || !strings.HasPrefix(c.InUse, "last answer of ") || !strings.Contains(c.Releases, "24.10.7") ||
		!strings.Contains(c.Error, "--registry") || c.LastOK.IsZero() {
		t.Errorf("admin status after the registry went: %s", body)
	}
}

// removeImagesOf removes every local tag of repo (those the executor pulled).
func removeImagesOf(t *testing.T, cli *client.Client, repo string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{Filters: make(client.Filters).Add("reference", repo)})
	if err != nil {
		t.Errorf("listing the images of %s: %v", repo, err)
		return
	}
	for _, img := range imgs.Items {
		for _, ref := range img.RepoTags {
			if strings.HasPrefix(ref, repo+":") {
				testenv.RemoveTag(t, cli, ref)
			}
		}
	}
}
