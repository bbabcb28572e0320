package feeds_test

import (
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0-1", "1.0-2", -1},
		{"1.10", "1.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0", "1.0a", -1},
		{"1.0a", "1.0+", -1},
		{"2:1.0", "1:9.9", 1},
		{"1.001", "1.1", 0},
		{"2024.08.11~abc-r1", "2024.08.11-r1", -1},
		{"3.0.50-1", "3.0.9-1", 1},
		{"1.0-r10", "1.0-r9", 1},
		{"0:1", "1", 0},
	}
	for _, tc := range cases {
		t.Run(tc.a+"_vs_"+tc.b, func(t *testing.T) {
			if got := feeds.CompareVersions(tc.a, tc.b); got != tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := feeds.CompareVersions(tc.b, tc.a); got != -tc.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}
