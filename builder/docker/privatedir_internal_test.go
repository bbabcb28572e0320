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

// TestDiskOfChecksTheLabel: a volume's disk label is freed (loop devices detached, file removed,
// as root) only when it names a file of the executor's form, by a clean path, in a folder that
// only this user may write into, and the file is this user's own, not a link; anyone who may
// make volumes may write the label.
func TestDiskOfChecksTheLabel(t *testing.T) {
	const name = "openwrt-ppa-2410-x86_64-0123abcd.img"
	diskDir := filepath.Join(t.TempDir(), "mine")
	mkdir(t, diskDir, 0o700)
	other := filepath.Join(t.TempDir(), "other")
	mkdir(t, other, 0o700)
	open := filepath.Join(t.TempDir(), "open")
	mkdir(t, open, 0o777)
	for _, d := range []string{diskDir, other, open} {
		if err := os.WriteFile(filepath.Join(d, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(other, name), filepath.Join(other, "openwrt-ppa-link.img")); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(other, "openwrt-ppa-theirs.img")
	if os.Geteuid() == 0 {
		if err := os.WriteFile(theirs, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	e := &Executor{opts: Options{DiskDir: diskDir}}
	cases := []struct {
		name, label string
		want        string // "": not freed
	}{
		{"a bare name in the own folder (older volumes)", name, filepath.Join(diskDir, name)},
		{"a full path in another private folder", filepath.Join(other, name), filepath.Join(other, name)},
		{"a bare name of another form", "passwd", ""},
		{"a full path of another form", filepath.Join(other, "passwd"), ""},
		{"a path that is not clean", other + "/../other/" + name, ""},
		{"a relative path", "other/" + name, ""},
		{"a folder others may write into", filepath.Join(open, name), ""},
		{"a link", filepath.Join(other, "openwrt-ppa-link.img"), ""},
		{"a file that is not there", filepath.Join(other, "openwrt-ppa-gone.img"), ""},
		{"another user's file (as root; else not there)", theirs, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := e.diskOf(map[string]string{LabelDisk: c.label})
			if !ok {
				got = ""
			}
			if got != c.want || ok != (c.want != "") {
				t.Fatalf("label %q frees %q (%v), want %q", c.label, got, ok, c.want)
			}
		})
	}
}
