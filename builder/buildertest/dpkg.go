package buildertest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// An .ipk is a Debian package in a gzipped tar instead of an ar archive, so Debian's own dpkg,
// which keeps conffiles on upgrade as opkg does, can install what the stand-in builds once the
// three members are moved into an ar. No opkg is packaged for Debian.

// maxIPKMember caps each member read from an .ipk (the stand-in's are a few KiB).
const maxIPKMember = 64 << 20

// DebFromIPK turns an .ipk into a .deb dpkg accepts: an ar archive of debian-binary,
// control.tar.gz and data.tar.gz, in the order dpkg requires.
func DebFromIPK(ipk []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(ipk))
	if err != nil {
		return nil, fmt.Errorf("not a gzipped .ipk: %w", err)
	}
	members := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the .ipk: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if h.Typeflag != tar.TypeReg || (name != "debian-binary" && name != "control.tar.gz" && name != "data.tar.gz") {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxIPKMember+1))
		if err != nil {
			return nil, fmt.Errorf("reading %s of the .ipk: %w", name, err)
		}
		if len(b) > maxIPKMember {
			return nil, fmt.Errorf("%s of the .ipk is larger than %d bytes", name, maxIPKMember)
		}
		members[name] = b
	}
	var ar bytes.Buffer
	ar.WriteString("!<arch>\n")
	for _, name := range []string{"debian-binary", "control.tar.gz", "data.tar.gz"} {
		b, ok := members[name]
		if !ok {
			return nil, fmt.Errorf("the .ipk has no ./%s", name)
		}
		// ar's 60-byte member header: name, mtime, uid, gid, mode, size, "`\n".
		fmt.Fprintf(&ar, "%-16s%-12d%-6d%-6d%-8o%-10d`\n", name+"/", 1700000000, 0, 0, 0o100644, len(b))
		ar.Write(b)
		if len(b)%2 == 1 {
			ar.WriteByte('\n')
		}
	}
	return ar.Bytes(), nil
}

// testFunctions is the root's /lib/functions.sh: OpenWrt's default_postinst and default_prerm
// run the package's own postinst-pkg and prerm-pkg from the package database, as these do from
// dpkg's (the scripts' $0 is /var/lib/dpkg/info/<pkg>.postinst). Each call is logged to
// /var/log/scripts so a test sees which ran.
const testFunctions = `# test lib/functions.sh (buildertest.DpkgRoot), not OpenWrt's
default_postinst() {
	echo "default_postinst $*" >> /var/log/scripts
	if [ -f "${1%.*}.postinst-pkg" ]; then ( . "${1%.*}.postinst-pkg" ) || return 1; fi
	return 0
}
default_prerm() {
	echo "default_prerm $*" >> /var/log/scripts
	if [ -f "${1%.*}.prerm-pkg" ]; then ( . "${1%.*}.prerm-pkg" ) || return 1; fi
	return 0
}
`

// DpkgRoot makes a root folder dpkg installs packages into (DpkgInstall): a static busybox as
// /bin/sh and its applets, which dpkg runs the maintainer scripts with (chrooted into the
// folder), a test lib/functions.sh with default_postinst and default_prerm, and an empty dpkg
// database. It skips t when dpkg is not installed or the test is not root (chroot needs it).
func DpkgRoot(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("dpkg"); err != nil {
		testenv.Missing(t, "dpkg", "dpkg is not on PATH (Debian: apt-get install dpkg); the test installs built packages with it")
	}
	if os.Geteuid() != 0 {
		t.Skip("dpkg --root runs maintainer scripts chrooted into the root folder, which needs root; run the test as root")
	}
	busybox, err := testenv.StaticBusybox()
	if err != nil {
		testenv.Missing(t, "busybox-static", err.Error())
	}
	root := t.TempDir()
	for _, d := range []string{"bin", "lib", "tmp", "var/log", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"bin/busybox": string(bb), "lib/functions.sh": testFunctions, "var/lib/dpkg/status": "", "var/log/scripts": ""}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("listing busybox's applets: %v", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	return root
}

// DpkgInstall installs the .deb into root (DpkgRoot) as an upgrade would on a router that keeps
// its configuration: a conffile the user changed stays, the package's new one beside it as
// .dpkg-dist. It returns dpkg's output.
func DpkgInstall(root string, deb []byte) (string, error) {
	f, err := os.CreateTemp("", "buildertest-*.deb")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(deb); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	cmd := exec.Command("dpkg", "--root", root, "--force-architecture", "--force-depends", "--force-confold", "--install", f.Name())
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("dpkg --install: %w\n%s", err, out)
	}
	return string(out), nil
}
