package forge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

func TestInstrument(t *testing.T) {
	fake := forgetest.NewForge(forge.GitLab)
	var seen []forge.Observation
	f := forge.Instrument(fake, func(_ context.Context, o forge.Observation) { seen = append(seen, o) })
	repo := forge.Repo{Owner: "group/sub", Name: "pkgs"}
	ctx := context.Background()
	if _, err := f.ReportCheck(ctx, repo, forge.Check{Name: "n", State: forge.CheckQueued}); err != nil {
		t.Fatal(err)
	}
	fake.Err = errors.New("boom")
	if err := f.Reply(ctx, repo, 1, "x"); err == nil {
		t.Fatal("Reply hid the error")
	}
	if len(seen) != 2 || seen[0].Op != "ReportCheck" || seen[0].Err != nil || seen[0].Repo != "group/sub/pkgs" ||
		seen[1].Op != "Reply" || seen[1].Err == nil || seen[1].Forge != forge.GitLab {
		t.Errorf("observations %+v", seen)
	}
	if f.Name() != forge.GitLab {
		t.Errorf("Name %q", f.Name())
	}
}

func TestUnconfigured(t *testing.T) {
	f := forge.Unconfigured(forge.GitLab, "OPENWRT_PPA_GITLAB_URL and OPENWRT_PPA_GITLAB_TOKEN")
	_, err := f.ReportCheck(context.Background(), forge.Repo{}, forge.Check{})
	if !errors.Is(err, forge.ErrNotConfigured) || err.Error() != "forge not configured: gitlab: set OPENWRT_PPA_GITLAB_URL and OPENWRT_PPA_GITLAB_TOKEN" {
		t.Errorf("err = %v", err)
	}
	if _, _, err := f.ReadFile(context.Background(), forge.Repo{}, "", ""); !errors.Is(err, forge.ErrNotConfigured) {
		t.Errorf("ReadFile err = %v", err)
	}
}
