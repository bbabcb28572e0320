package forge_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

func TestSummaryTable(t *testing.T) {
	s := forge.Summary(forge.SummaryInput{
		Intro: "2 packages built for 24.10/x86_64.",
		Packages: []forge.PackageRow{
			{Name: "dnsmasq-full", Version: "2.90-2", Size: 163817},
			{Name: "odd|name", Version: "1.0-1", Note: "failed"},
		},
		LogURL:  "https://ppa.example/o/r/-/builds/7",
		FeedURL: "https://ppa.example/o/r/main/24.10/x86_64/",
	})
	for _, want := range []string{
		"| Package | Version | Size | Note |",
		"| dnsmasq-full | 2.90-2 | 160.0 KiB |  |",
		`| odd\|name | 1.0-1 |  | failed |`,
		"[Build log](https://ppa.example/o/r/-/builds/7)",
		"[Feed](https://ppa.example/o/r/main/24.10/x86_64/)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestSummaryFitsGitHub(t *testing.T) {
	var rows []forge.PackageRow
	for i := range 5000 {
		rows = append(rows, forge.PackageRow{Name: fmt.Sprintf("package-with-a-long-name-ünïcode-%d", i), Version: "1.0-1", Size: 1234})
	}
	s := forge.Summary(forge.SummaryInput{Packages: rows, LogURL: "https://x/log", FeedURL: "https://x/feed"})
	if n := len(s); n > forge.MaxSummary || !utf8.ValidString(s) {
		t.Fatalf("summary has %d bytes, over %d (or is cut inside a character)", n, forge.MaxSummary)
	}
	if !strings.Contains(s, "more packages (see the build log)") || !strings.Contains(s, "[Feed](https://x/feed)") {
		t.Errorf("cut summary lost its note or links: …%s", s[len(s)-300:])
	}
}

func TestTruncate(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"héllo", 5, "h…"}, // never half of "é"
		{"héllo", 6, "héllo"},
		{"héllo wörld", 6, "hé…"},
		{"héllo", 2, ""},
		{"héllo", 100, "héllo"},
	} {
		if got := forge.Truncate(c.in, c.n); got != c.want || len(got) > c.n {
			t.Errorf("Truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
	if got := forge.Truncate("abc", 3); got != "abc" {
		t.Errorf("Truncate = %q", got)
	}
}
