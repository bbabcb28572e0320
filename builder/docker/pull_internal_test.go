package docker

import (
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// TestNeedPull: a release tag is pulled only when missing; a snapshot tag also when this
// process last pulled it a refresh period ago or never.
func TestNeedPull(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	const period = time.Hour
	for name, tc := range map[string]struct {
		job     builder.Job
		present bool
		lastTry time.Time
		want    bool
	}{
		"release present":             {builder.Job{Series: "24.10", Image: "ghcr.io/openwrt/sdk:x86_64-24.10.6"}, true, time.Time{}, false},
		"v release present, old pull": {builder.Job{Series: "24.10", Image: "ghcr.io/openwrt/sdk:x86_64-v24.10.6"}, true, now.Add(-48 * time.Hour), false},
		"release absent":              {builder.Job{Series: "24.10", Image: "ghcr.io/openwrt/sdk:x86_64-24.10.6"}, false, now, true},
		"snapshot present, recent":    {builder.Job{Series: "snapshot", Image: "ghcr.io/openwrt/sdk:x86_64"}, true, now.Add(-time.Minute), false},
		"snapshot present, old":       {builder.Job{Series: "snapshot", Image: "ghcr.io/openwrt/sdk:x86_64-SNAPSHOT"}, true, now.Add(-period), true},
		"snapshot present, never":     {builder.Job{Series: "snapshot", Image: "ghcr.io/openwrt/sdk:x86_64"}, true, time.Time{}, true},
		"snapshot absent":             {builder.Job{Series: "snapshot", Image: "ghcr.io/openwrt/sdk:x86_64"}, false, now, true},
	} {
		if got := needPull(tc.present, tc.job.MovingImage(), tc.lastTry, now, period); got != tc.want {
			t.Errorf("%s: needPull %v, want %v", name, got, tc.want)
		}
	}
}
