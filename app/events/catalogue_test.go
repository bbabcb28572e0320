package events

import (
	"context"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

type tagList []string

func (l tagList) ListTags(context.Context, string) ([]string, error) { return l, nil }

// Jobs are planned with the catalogue as the registry last listed it: a point release pushed
// after start is used by the next push, without a restart, and the job names its image so that
// a worker with an older table builds the same one.
func TestPushUsesTheNewestPointReleaseTheRegistryLists(t *testing.T) {
	h := newHarness(t)
	cat, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	src := builder.NewCatalogueSource(cat, "ghcr.io/openwrt/sdk", tagList{"x86_64-25.12.3", "x86_64-v25.12.9", "x86_64-25.12.7"}, nil)
	h.svc.catalogue = src
	if err := src.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.deliver(t, push("d1", "main", sha1))
	found := false
	for _, j := range h.jobs(t, h.builds(t)[0].ID) {
		if j.Arch != "x86_64" {
			continue
		}
		found = true
		if j.Image != "ghcr.io/openwrt/sdk:x86_64-v25.12.9" {
			t.Errorf("x86_64 job image %q, want the registry's newest point release", j.Image)
		}
		if r := builder.ReleaseOfImage(j.Image); r != "25.12.9" {
			t.Errorf("release of %q = %q", j.Image, r)
		}
	}
	if !found {
		t.Fatal("no x86_64 job in the default matrix")
	}
}
