package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStandinFeedsMatchItsPins: the commits StartStandinFeeds makes are the ones the stand-in's
// feeds.conf.default pins, each on the git.openwrt.org URL a 24.10 SDK has.
func TestStandinFeedsMatchItsPins(t *testing.T) {
	_, got := StartStandinFeeds(t)
	dir, err := StandinDir()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "rootfs", "builder", "feeds.conf.default"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range StandinFeedList {
		if got[f.Name] != f.Commit {
			t.Errorf("feed %s: the server holds commit %s, StandinFeedList pins %s", f.Name, got[f.Name], f.Commit)
		}
		want = append(want, "src-git "+f.Name+" "+f.URL()+"^"+got[f.Name])
	}
	if strings.TrimSpace(string(conf)) != strings.Join(want, "\n") {
		t.Errorf("the stand-in's feeds.conf.default is\n%s\nwant\n%s", conf, strings.Join(want, "\n"))
	}
}
