package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestFileURLPath(t *testing.T) {
	cases := []struct{ in, path, err string }{
		{"file:///srv/repo", "/srv/repo", ""},
		{"file://localhost/srv/repo", "/srv/repo", ""},
		{"file:///srv/my%20repo", "/srv/my repo", ""},
		{"file://example.org/srv/repo", "", `names host "example.org"`},
		{"file:repo", "", "is not a file URL"},
		{"file://", "", "is not a file URL"},
	}
	for _, c := range cases {
		p, err := fileURLPath(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("fileURLPath(%q) = %q, %v; want an error with %q", c.in, p, err, c.err)
			}
			continue
		}
		if err != nil || p != c.path {
			t.Errorf("fileURLPath(%q) = %q, %v; want %q", c.in, p, err, c.path)
		}
	}
}

func FuzzFileURLPath(f *testing.F) {
	for _, s := range []string{"file:///a", "file://h/a", "file:a", "file:///%zz", "file:///a/../../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := fileURLPath(s); err == nil && !filepath.IsAbs(p) {
			t.Fatalf("fileURLPath(%q) = %q: not an absolute path", s, p)
		}
	})
}

func TestResolveSource(t *testing.T) {
	gitDir, _ := testenv.GitRepo(t, map[string]string{"README": "x\n"})
	plain := t.TempDir()
	sub := filepath.Join(gitDir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "/nonexistent/agent.sock")
	cases := []struct {
		name, in, ref string
		asIs          bool
		url           string
		wantAsIs      bool
		notGit        bool
		ssh           bool
	}{
		{name: "https", in: "https://example.org/o/r.git", url: "https://example.org/o/r.git"},
		{name: "ssh with an agent", in: "git@example.org:o/r.git", url: "git@example.org:o/r.git", ssh: true},
		{name: "git folder", in: gitDir, url: gitDir},
		{name: "git folder by file URL", in: "file://" + gitDir, url: gitDir},
		{name: "git folder as it is", in: gitDir, asIs: true, url: gitDir, wantAsIs: true},
		{name: "plain folder", in: plain, url: plain, wantAsIs: true, notGit: true},
		{name: "subfolder of a repository", in: sub, url: sub, wantAsIs: true, notGit: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := resolveSource(c.in, c.ref, c.asIs, "")
			if err != nil {
				t.Fatal(err)
			}
			if src.url != c.url || src.asIs != c.wantAsIs || src.notGit != c.notGit || (src.auth != nil) != c.ssh {
				t.Fatalf("got %+v", src)
			}
		})
	}
}

func TestCheckFlags(t *testing.T) {
	cat, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name                     string
		series, archs, cfgSeries []string
		err                      string // "" when taken
	}{
		{name: "none"},
		{name: "known", series: []string{"24.10", "23.05"}, archs: []string{"x86_64"}},
		{name: "unknown series", series: []string{"19.07"}, err: `--series "19.07" is not a series`},
		{name: "unknown arch", archs: []string{"x86_65"}, err: `--arch "x86_65" is not an arch`},
		{name: "arch against the flag's series", series: []string{"24.10"}, archs: []string{"x86_65"}, err: "no SDK image for series 24.10"},
		{name: "arch against the configuration's series", archs: []string{"x86_65"}, cfgSeries: []string{"23.05"}, err: "no SDK image for series 23.05"},
		{name: "configuration's unknown series is not the flag's", archs: []string{"x86_64"}, cfgSeries: []string{"19.07"}},
	}
	for _, c := range cases {
		err := CheckFlags(cat, c.series, c.archs, c.cfgSeries)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.err)
		}
		if _, isFlag := err.(*FlagError); err != nil && !isFlag {
			t.Errorf("%s: %T is no *FlagError", c.name, err)
		}
	}
}

// TestCopyFolder: a folder is copied as it is but for .git and the feed folder inside it, links
// stay links, the content id follows the content, and a folder over the cap is refused.
func TestCopyFolder(t *testing.T) {
	src := t.TempDir()
	for p, body := range map[string]string{"pkgs/a/Makefile": "m\n", ".git/HEAD": "ref\n", "feed/old.ipk": "x", "top": "t"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(src, p), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(src, "pkgs", "link")); err != nil {
		t.Fatal(err)
	}
	copyTo := func(limit int64) (string, string, error) {
		dest := filepath.Join(t.TempDir(), "src")
		id, err := copyFolder(src, dest, filepath.Join(src, "feed"), limit)
		return dest, id, err
	}
	dest, id1, err := copyTo(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "pkgs/a/Makefile")); err != nil || string(b) != "m\n" {
		t.Errorf("Makefile: %q %v", b, err)
	}
	for _, gone := range []string{".git", "feed"} {
		if _, err := os.Lstat(filepath.Join(dest, gone)); !os.IsNotExist(err) {
			t.Errorf("%s was copied", gone)
		}
	}
	if target, err := os.Readlink(filepath.Join(dest, "pkgs", "link")); err != nil || target != "/etc/passwd" {
		t.Errorf("link: %q %v", target, err)
	}
	if len(id1) != 40 {
		t.Errorf("content id %q is not 40 hex", id1)
	}
	_, same, _ := copyTo(1 << 20)
	os.WriteFile(filepath.Join(src, "top"), []byte("changed"), 0o644)
	_, changed, _ := copyTo(1 << 20)
	if same != id1 || changed == id1 {
		t.Errorf("content ids %s, %s (same content), %s (changed)", id1, same, changed)
	}
	if _, _, err := copyTo(4); err == nil || !strings.Contains(err.Error(), "holds more than") {
		t.Errorf("over the cap: %v", err)
	}
}
