package app_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestTagsAndLatest: a tag builds its own feed and the latest feed follows the newest tag by
// version; deleting the newest brings latest back to the one before; a tag moved to another
// commit is refused, its feed unchanged.
func TestTagsAndLatest(t *testing.T) {
	e := newE2E(t)
	e.start()
	sha1 := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	sha2 := e.git.Commit(t, e2eRepo, "main", repoFiles(e2eConfig, map[string]string{"hello": "1.1"}))
	for _, sha := range []string{sha1, sha2} {
		e.gh.SetFile(e2eFull, sha, ".openwrt-ppa.yml", []byte(e2eConfig))
	}
	e.git.Tag(t, e2eRepo, "v1.0", sha1)
	e.git.Tag(t, e2eRepo, "v1.1", sha2)
	version := func(path string) string {
		t.Helper()
		code, body := e.get(path + "Packages")
		if code != http.StatusOK {
			return ""
		}
		for _, l := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(l, "Version: "); ok {
				return v
			}
		}
		return ""
	}
	const latest = "/alice/pkgs/-/latest/24.10/x86_64/"
	e.pushRef("t1", "refs/tags/v1.1", zeroSHA, sha2)
	e.waitBuilds(1)
	e.pushRef("t2", "refs/tags/v1.0", zeroSHA, sha1) // built later, but older by version
	e.waitBuilds(2)
	if v := version("/alice/pkgs/-/tags/v1.0/24.10/x86_64/"); v != "1.0-r1" {
		t.Fatalf("tag v1.0 feed has %q", v)
	}
	if v := version(latest); v != "1.1-r1" {
		t.Fatalf("latest has %q, want v1.1's 1.1-r1", v)
	}
	e.verifyFeed(latest, "/alice/pkgs/-/key.pub")

	// Moving v1.0 to another commit is refused: tag feeds are immutable.
	e.pushRef("t3", "refs/tags/v1.0", sha1, sha2)
	waitFor(t, "the refusal of a moved tag", func() bool {
		for _, c := range e.gh.Calls() {
			if c.Method == "POST" && strings.Contains(string(c.Body), "immutable") {
				return true
			}
		}
		return false
	})
	if v := version("/alice/pkgs/-/tags/v1.0/24.10/x86_64/"); v != "1.0-r1" {
		t.Fatalf("a moved tag changed its feed: %q", v)
	}

	// Deleting the newest tag: latest goes back to v1.0.
	e.pushRef("t4", "refs/tags/v1.1", sha2, zeroSHA)
	waitFor(t, "latest to follow the deletion", func() bool { return version(latest) == "1.0-r1" })
	if code, _ := e.get("/alice/pkgs/-/tags/v1.1/24.10/x86_64/Packages"); code != http.StatusNotFound {
		t.Fatalf("deleted tag's feed answered %d", code)
	}
	e.verifyFeed(latest, "/alice/pkgs/-/key.pub")
	bs := e.waitBuilds(2)
	for _, b := range bs {
		if b.Status != store.StatusSuccess {
			t.Errorf("build %+v", b)
		}
	}
}
