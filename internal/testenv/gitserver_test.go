package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitServerServesClones(t *testing.T) {
	s := StartGitServer(t)
	c := s.Commit(t, "o/r", "main", map[string]string{"a/Makefile": "x\n", "link@": "a/Makefile"})
	dst := filepath.Join(t.TempDir(), "clone")
	Git(t, "", "clone", "-q", s.RepoURL("o/r"), dst)
	if head := strings.TrimSpace(Git(t, dst, "rev-parse", "HEAD")); head != c {
		t.Fatalf("cloned HEAD %s, want %s", head, c)
	}
	if b, err := os.ReadFile(filepath.Join(dst, "a", "Makefile")); err != nil || string(b) != "x\n" {
		t.Fatalf("file content %q, %v", b, err)
	}
	if target, err := os.Readlink(filepath.Join(dst, "link")); err != nil || target != "a/Makefile" {
		t.Fatalf("symlink %q, %v", target, err)
	}
}
