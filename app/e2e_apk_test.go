package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestEndToEndAPK: a repository without a series list builds the default series, 25.12, in a
// 25.12-like SDK (the stand-in's apk mode, whose make runs apk mkpkg): the push ends in a
// served packages.adb signed with the key at /-/key.pem, each package downloading with the size
// and identity the index gives; the check, the repository page, the API and the browser
// listing give apk's router lines; a new version replaces the old in the index while the old
// file stays for routers holding the previous index.
func TestEndToEndAPK(t *testing.T) {
	e := newE2E(t)
	e.image = testenv.StandinAPKImage(t)
	e.cfg.Image = e.image
	e.start()
	const cfg = "archs: [x86_64]\n" // no series: the default, 25.12

	sha1 := e.git.Commit(t, e2eRepo, "main", repoFiles(cfg, map[string]string{"hello": "1.0", "world": "2.0"}))
	e.gh.SetFile(e2eFull, sha1, ".openwrt-ppa.yml", []byte(cfg))
	if code := e.push("a1", "main", zeroSHA, sha1); code != http.StatusAccepted {
		t.Fatalf("push answered %d", code)
	}
	b1 := e.waitBuilds(1)[0]
	j1 := e.jobs(b1.ID)
	if b1.Status != store.StatusSuccess || len(j1) != 1 || j1[0].Series != "25.12" {
		t.Fatalf("build %+v jobs %+v", b1, j1)
	}
	const feed = "/alice/pkgs/main/25.12/x86_64/"
	t.Logf("job result: %s", j1[0].Result)
	listed := e.verifyAPKFeed(feed, "/alice/pkgs/-/key.pem")
	if listed["hello"] != "1.0-r1" || listed["world"] != "2.0-r1" || len(listed) != 2 {
		t.Fatalf("packages.adb lists %v", listed)
	}
	if code, _ := e.get(feed + "Packages"); code != http.StatusNotFound {
		t.Errorf("an apk feed serves an opkg index: %d", code)
	}

	// The check names the apk router's lines.
	sum := summaryOf(e.checkRun(j1[0]))
	for _, want := range []string{"wget -O /etc/apk/keys/alice_pkgs.pem " + e.url + "/alice/pkgs/-/key.pem",
		"echo '" + e.url + "/alice/pkgs/main/25.12/x86_64/packages.adb' >> /etc/apk/repositories.d/customfeeds.list", "apk update", "hello"} {
		if !strings.Contains(sum, want) {
			t.Errorf("check summary lacks %q:\n%s", want, sum)
		}
	}
	// So do the repository page and the API.
	if code, page := e.get("/alice/pkgs"); code != http.StatusOK || !strings.Contains(string(page), "/etc/apk/repositories.d/customfeeds.list") ||
		!strings.Contains(string(page), "/alice/pkgs/-/key.pem") {
		t.Errorf("repository page %d lacks the apk lines", code)
	}
	code, body := e.get("/api/v1/repos/alice/pkgs/feeds?ref=branch:main")
	var api struct {
		Feeds []struct {
			Format, Line string
			Router       struct{ Key, Feed, Update string }
		}
	}
	if err := json.Unmarshal(body, &api); code != http.StatusOK || err != nil || len(api.Feeds) != 1 {
		t.Fatalf("API feeds %d %v %s", code, err, body)
	}
	if f := api.Feeds[0]; f.Format != "apk" || !strings.HasSuffix(f.Line, "/packages.adb") || f.Router.Update != "apk update" ||
		!strings.Contains(f.Router.Key, "/etc/apk/keys/") {
		t.Errorf("API feed %+v", f)
	}
	// A browser gets a listing of the apk feed's packages.
	code, listing := e.getAs(feed, func(r *http.Request) { r.Header.Set("Accept", "text/html") })
	if code != http.StatusOK || !strings.Contains(string(listing), "hello") || !strings.Contains(string(listing), "1.0-r1") ||
		!strings.Contains(string(listing), "packages.adb") {
		t.Errorf("listing %d:\n%s", code, listing)
	}
	// The apk keys are in the backup, next to the usign ones.
	var backup bytes.Buffer
	if _, err := e.rt.ExportKeys(t.Context(), &backup); err != nil || !strings.Contains(backup.String(), `"kind": "apk-main"`) {
		t.Errorf("key backup lacks the apk key: %v\n%s", err, backup.String())
	}

	// A new version: the index lists it alone; the old file stays for the grace period.
	sha2 := e.git.Commit(t, e2eRepo, "main", repoFiles(cfg, map[string]string{"hello": "1.1", "world": "2.0"}))
	e.gh.SetFile(e2eFull, sha2, ".openwrt-ppa.yml", []byte(cfg))
	if code := e.push("a2", "main", sha1, sha2); code != http.StatusAccepted {
		t.Fatalf("second push answered %d", code)
	}
	if b := e.waitBuilds(2)[0]; b.Status != store.StatusSuccess {
		t.Fatalf("second build %+v", b)
	}
	listed = e.verifyAPKFeed(feed, "/alice/pkgs/-/key.pem")
	if listed["hello"] != "1.1-r1" || listed["world"] != "2.0-r1" {
		t.Fatalf("after the second push packages.adb lists %v", listed)
	}
	if code, _ := e.get(feed + "hello-1.0-r1.apk"); code != http.StatusOK {
		t.Errorf("the superseded package is gone at once (%d); it must stay for the grace period", code)
	}
}

// verifyAPKFeed checks a served apk feed: packages.adb's signature verifies with the key served
// at keyPath, and every entry downloads with the size and the identity (SHA-256 of its ADB
// block, what apk checks a download by) the index lists. It returns names and versions.
func (e *e2e) verifyAPKFeed(feedPath, keyPath string) map[string]string {
	e.t.Helper()
	code, keyPEM := e.get(keyPath)
	if code != http.StatusOK {
		e.t.Fatalf("GET %s: %d", keyPath, code)
	}
	key, err := apksign.ParsePublicKey(keyPEM)
	if err != nil {
		e.t.Fatalf("%s: %v", keyPath, err)
	}
	code, index := e.get(feedPath + feeds.FileAPKIndex)
	if code != http.StatusOK {
		e.t.Fatalf("GET %spackages.adb: %d", feedPath, code)
	}
	f, err := adb.ReadFile(bytes.NewReader(index), adb.Limits{})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := key.Verify(f); err != nil {
		e.t.Fatalf("%spackages.adb does not verify with %s: %v", feedPath, keyPath, err)
	}
	_, entries, err := feeds.ReadAPKIndex(bytes.NewReader(index))
	if err != nil {
		e.t.Fatal(err)
	}
	listed := map[string]string{}
	for _, en := range entries {
		listed[en.Info.Name] = en.Info.Version
		file := en.Info.Name + "-" + en.Info.Version + ".apk"
		code, body := e.get(feedPath + file)
		if code != http.StatusOK || uint64(len(body)) != en.Info.FileSize {
			e.t.Errorf("%s%s: status %d, %d bytes; the index says %d", feedPath, file, code, len(body), en.Info.FileSize)
			continue
		}
		p, err := feeds.ReadAPK(bytes.NewReader(body), file, 0)
		if err != nil || p.Identity != en.Identity {
			e.t.Errorf("%s%s: %v; identity %x, the index says %x", feedPath, file, err, p.Identity, en.Identity)
		}
	}
	if len(entries) == 0 {
		e.t.Errorf("%s lists no package", feedPath)
	}
	return listed
}
