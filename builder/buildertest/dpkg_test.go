package buildertest_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
)

// TestDebFromIPK: an .ipk turned into a .deb installs with dpkg into a DpkgRoot; what is not
// an .ipk is refused.
func TestDebFromIPK(t *testing.T) {
	root := buildertest.DpkgRoot(t)
	ipk, err := buildertest.IPK(buildertest.Control{Package: "hello", Version: "1.0-r1", Arch: "x86_64", Description: "says hello", Depends: "libc"},
		// IPK writes no folder entries, so the files go to folders the root has.
		map[string]string{"/bin/hello": "#!/bin/sh\necho hello\n", "/lib/hello.conf": "odd\n"})
	if err != nil {
		t.Fatal(err)
	}
	deb, err := buildertest.DebFromIPK(ipk)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(deb, []byte("!<arch>\ndebian-binary/  ")) {
		t.Errorf("not an ar archive starting with debian-binary: %q", deb[:min(len(deb), 40)])
	}
	out, err := buildertest.DpkgInstall(root, deb)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "bin/hello")); err != nil || string(b) != "#!/bin/sh\necho hello\n" {
		t.Errorf("bin/hello: %q %v (dpkg said %s)", b, err, out)
	}
	status, _ := os.ReadFile(filepath.Join(root, "var/lib/dpkg/status"))
	if !strings.Contains(string(status), "Package: hello\nStatus: install ok installed\n") {
		t.Errorf("dpkg's status lacks hello:\n%s", status)
	}
	var emptyTar bytes.Buffer
	zw := gzip.NewWriter(&emptyTar)
	zw.Write(make([]byte, 1024))
	zw.Close()
	for name, bad := range map[string][]byte{"not gzip": []byte("!<arch>\n"), "no members": emptyTar.Bytes()} {
		if _, err := buildertest.DebFromIPK(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
