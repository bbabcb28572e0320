package feeds_test

import (
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

// The orders were checked with `apk version -t` (apk-tools 3.0.6).
func TestCompareAPKVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0_rc1", "1.0", -1},
		{"1.0", "1.0-r1", -1},
		{"1.0-r1", "1.0a", -1},
		{"1.0-r1", "1.0.1", -1},
		{"1.0", "1.0_p1", -1},
		{"1.01", "1.1", -1},
		{"1.2", "1.10", -1},
		{"1.0_alpha", "1.0_beta", -1},
		{"1.0_beta2", "1.0_beta10", -1},
		{"1.0_pre1", "1.0_rc1", -1},
		{"1.0_git20240101", "1.0_p1", -1},
		{"2.5.1-r1", "2.5.1-r10", -1},
		{"1.0~abc-r1", "1.0~abd-r1", -1},
		{"1.0~abc", "1.0", 1},
		{"10", "9", 1},
		{"2024.01.02-r3", "2024.1.2-r3", -1},
	}
	for _, c := range cases {
		if got := feeds.CompareAPKVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareAPKVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := feeds.CompareAPKVersions(c.b, c.a); got != -c.want {
			t.Errorf("CompareAPKVersions(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestValidAPKVersion(t *testing.T) {
	good := []string{"1", "1.0", "2.5.1-r1", "1.0a", "1.0_rc1", "1.0_rc1_p2", "1.0~1a2b-r3", "2024.01.02-r0", "0"}
	bad := []string{"", "v1.0", "1.0-1", "1.0-r", "1..0", "1.0_foo", "1.0~", "1.0~xyz", "1.0 ", "1.0-r1-r2", "1.0ab", "a", "1.0:1", "1:1.0"}
	for _, v := range good {
		if err := feeds.ValidAPKVersion(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, v := range bad {
		if err := feeds.ValidAPKVersion(v); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func TestValidAPKName(t *testing.T) {
	for _, n := range []string{"libc", "lib_foo", "gpio-fan-rpm", "python3.11", "g++"} {
		if err := feeds.ValidAPKName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "-x", ".x", "a b", "a/b", "a:b", "ä"} {
		if err := feeds.ValidAPKName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}
