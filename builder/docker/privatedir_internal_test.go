package docker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrivateDir: the folder of the disk images is refused unless only this process's user can
// write into it, since its files become filesystems mounted as root.
func TestPrivateDir(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		want    string // empty: accepted
	}{
		{"made here", func(t *testing.T, dir string) {}, ""},
		{"own and private", func(t *testing.T, dir string) { mkdir(t, dir, 0o700) }, ""},
		{"own, readable by others", func(t *testing.T, dir string) { mkdir(t, dir, 0o755) }, ""},
		{"writable by others", func(t *testing.T, dir string) { mkdir(t, dir, 0o777) }, "is writable by others (mode 777)"},
		{"writable by the group", func(t *testing.T, dir string) { mkdir(t, dir, 0o770) }, "is writable by others (mode 770)"},
		{"a symlink to a folder", func(t *testing.T, dir string) {
			target := filepath.Join(t.TempDir(), "elsewhere")
			mkdir(t, target, 0o700)
			if err := os.Symlink(target, dir); err != nil {
				t.Fatal(err)
			}
		}, "is not a folder (a symlink?)"},
		{"another user's", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("giving a folder to another user needs root")
			}
			mkdir(t, dir, 0o700)
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "belongs to uid 65534"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "workspaces")
			tc.prepare(t, dir)
			err := privateDir(dir)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "--workspace volume")):
				t.Fatalf("got %v, want an error saying %q and what to do", err, tc.want)
			}
		})
	}
}

func mkdir(t *testing.T, dir string, mode os.FileMode) {
	t.Helper()
	if err := os.Mkdir(dir, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}
