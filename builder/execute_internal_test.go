package builder

import (
	"strings"
	"testing"
)

// A package that failed on a full workspace names the cap and what to change; other failures
// keep their reason.
func TestExplainFullDisk(t *testing.T) {
	cases := map[string]struct {
		p    PackageResult
		want string // in the reason
	}{
		"full": {PackageResult{Status: PackageFailed, Step: "compile", Reason: "compile failed",
			Log: []string{"dd: error writing 'build_dir/fill': No space left on device"}}, "compile failed: disk full: the job's workspace (the SDK's work dir) holds at most 24M"},
		"no step": {PackageResult{Status: PackageFailed, Log: []string{"cp: write error: No space left on device"}}, "the build failed: disk full"},
		"other failure": {PackageResult{Status: PackageFailed, Step: "compile", Reason: "compile failed",
			Log: []string{"error: undefined reference"}}, "compile failed"},
		"built": {PackageResult{Status: PackageBuilt, Log: []string{"No space left on device"}}, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := tc.p
			explainFullDisk(&p, 24<<20)
			if tc.want == "" && p.Reason != "" || !strings.Contains(p.Reason, tc.want) {
				t.Fatalf("reason %q, want it to contain %q", p.Reason, tc.want)
			}
			if strings.Contains(tc.want, "disk full") && !strings.Contains(p.Reason, "--workspace-size") {
				t.Errorf("reason %q does not say what to change", p.Reason)
			}
			if name == "other failure" && p.Reason != "compile failed" {
				t.Errorf("reason changed to %q", p.Reason)
			}
		})
	}
}

func TestSizeText(t *testing.T) {
	for n, want := range map[int64]string{8 << 30: "8G", 24 << 20: "24M", 1536 << 20: "1536M", 1 << 40: "1T", 1000: "1000 bytes", 4096: "4K"} {
		if got := SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
}
