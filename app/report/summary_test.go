package report

import (
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// A feed's URL names only the series, so the check says which point release built it.
func TestSummaryNamesThePointRelease(t *testing.T) {
	r := &Reporter{BaseURL: "https://ppa.example.org"}
	repo := store.Repository{Owner: "alice", Name: "pkgs"}
	b := store.Build{ID: 3, Ref: store.Ref{Kind: store.RefBranch, Name: "main"}}
	res := &model.Result{Packages: []model.PackageResult{{Name: "hello", Version: "1.0-r1", Size: 2048, Status: "built"}}}
	for _, c := range []struct{ image, want string }{
		{"ghcr.io/openwrt/sdk:x86_64-v24.10.9", "Built with the OpenWrt 24.10.9 SDK."},
		{"openwrt-ppa/sdk-standin:abc", ""},
	} {
		j := &store.Job{ID: 7, Series: "24.10", Arch: "x86_64", Image: c.image, Status: store.StatusSuccess}
		got := r.summary(repo, b, j, "1 package built", res)
		if c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("image %s: summary lacks %q:\n%s", c.image, c.want, got)
		}
		if c.want == "" && strings.Contains(got, "Built with") {
			t.Errorf("image %s names no release, summary says one:\n%s", c.image, got)
		}
		if !strings.Contains(got, "https://ppa.example.org/alice/pkgs/main/24.10/x86_64") {
			t.Errorf("summary lacks the feed URL:\n%s", got)
		}
	}
}
