package docker_test

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/buildertest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// The package-pack.mk parts of a package that reach what it installs: conffiles, the
// maintainer scripts, lib/upgrade/keep.d. The stand-in writes them as the real SDK does; these
// tests build a package through the real build path and look at (or install) the result.

// confyPkg is the text of confy's preinst, postinst, prerm and postrm defines (as their files
// hold them), each logging to /var/log/scripts, where buildertest.DpkgRoot's functions.sh logs.
var confyPkg = map[string]string{
	"preinst":  "#!/bin/sh\necho \"confy preinst $1\" >> /var/log/scripts\n",
	"postinst": "#!/bin/sh\n[ -n \"${IPKG_INSTROOT}\" ] || echo \"confy postinst $1\" >> /var/log/scripts\n",
	"prerm":    "#!/bin/sh\necho \"confy prerm $1\" >> /var/log/scripts\n",
	"postrm":   "#!/bin/sh\necho \"confy postrm $1\" >> /var/log/scripts\n",
}

// confyRepo writes a repository with the package confy at version: conffiles /etc/config/confy,
// the folder /etc/confy.d/ (two files) and /etc/not-installed, which it does not hold, its own
// maintainer scripts (postrm indented by postrmIndent, which apk's packaging strips), and a
// data file that is no conffile; and confy-lite, with no conffiles or scripts. Every file's
// content names the version.
func confyRepo(t testing.TB, version, postrmIndent string) string {
	t.Helper()
	def := func(name, body string) string {
		if name == "postrm" {
			body = postrmIndent + body
		}
		return "define Package/confy/" + name + "\n" + strings.ReplaceAll(strings.TrimSuffix(body, "\n"), "$", "$$") + "\nendef\n"
	}
	mk := fmt.Sprintf(`include $(TOPDIR)/rules.mk
PKG_NAME:=confy
PKG_VERSION:=%s
PKG_RELEASE:=1
include $(INCLUDE_DIR)/package.mk
define Package/confy
  TITLE:=keeps its configuration
endef
define Package/confy-lite
  TITLE:=has no configuration
endef
define Package/confy/conffiles
/etc/config/confy
/etc/confy.d/
/etc/not-installed
endef
`, version)
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		mk += def(s, confyPkg[s])
	}
	// Three folders in one $(INSTALL_DIR), two files in one $(INSTALL_DATA), as install(1) takes them.
	mk += `define Package/confy/install
	$(INSTALL_DIR) $(1)/etc/config $(1)/etc/confy.d $(1)/usr/share/confy
	$(INSTALL_CONF) ./files/confy.conf $(1)/etc/config/confy
	$(INSTALL_DATA) ./files/b.conf ./files/a.conf $(1)/etc/confy.d/
	$(INSTALL_DATA) ./files/data $(1)/usr/share/confy/data
endef
define Package/confy-lite/install
	$(INSTALL_DIR) $(1)/usr/share/confy-lite
	$(INSTALL_DATA) ./files/data $(1)/usr/share/confy-lite/data
endef
$(eval $(call BuildPackage,confy))
$(eval $(call BuildPackage,confy-lite))
`
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"net/confy/Makefile":         mk,
		"net/confy/files/confy.conf": "config confy 'main'\n\toption version '" + version + "'\n",
		"net/confy/files/a.conf":     "a " + version + "\n",
		"net/confy/files/b.conf":     "b " + version + "\n",
		"net/confy/files/data":       "data " + version + "\n",
	})
	return dir
}

// buildConfy builds confyRepo in the stand-in for series and returns the package files of confy
// and confy-lite.
func buildConfy(t *testing.T, e *env, series, version, postrmIndent string) (confy, lite string) {
	t.Helper()
	dir := confyRepo(t, version, postrmIndent)
	res, log, _ := e.run(t, e.job(t, dir, series), dir, builder.Limits{Timeout: time.Minute})
	byN := byName(res)
	for _, p := range []builder.PackageResult{byN["confy"], byN["confy-lite"]} {
		if p.Status != builder.PackageBuilt || len(p.Files) != 1 {
			t.Fatalf("%+v\n%s", p, log.text())
		}
	}
	return byN["confy"].Files[0], byN["confy-lite"].Files[0]
}

// ipkMember returns the regular files of one archive of an .ipk (member "./control.tar.gz" or
// "./data.tar.gz"), path → content.
func ipkMember(t testing.TB, ipk, member string) map[string]string {
	t.Helper()
	files := map[string]string{}
	var walk func(r io.Reader, inner bool)
	walk = func(r io.Reader, inner bool) {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("%s: %v", ipk, err)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				t.Fatalf("%s: %v", ipk, err)
			}
			switch {
			case !inner && h.Name == member:
				walk(tr, true)
			case inner && h.Typeflag == tar.TypeReg:
				b, _ := io.ReadAll(tr)
				files[strings.TrimPrefix(h.Name, "./")] = string(b)
			}
		}
	}
	f, err := os.Open(ipk)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	walk(f, false)
	return files
}

// What package-pack.mk writes as the default postinst and prerm of an .ipk.
const (
	ipkPostinst = "#!/bin/sh\n[ \"${IPKG_NO_SCRIPT}\" = \"1\" ] && exit 0\n[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n. ${IPKG_INSTROOT}/lib/functions.sh\ndefault_postinst $0 $@\n"
	ipkPrerm    = "#!/bin/sh\n[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n. ${IPKG_INSTROOT}/lib/functions.sh\ndefault_prerm $0 $@\n"
)

// TestControlArchiveKeepsConffiles: conffiles and maintainer scripts reach the .ipk's control
// archive as package-pack.mk and ipkg-build put them there, so opkg keeps the configuration of
// an installed package on upgrade and runs its scripts; the conffiles that are no files go to
// lib/upgrade/keep.d for sysupgrade.
func TestControlArchiveKeepsConffiles(t *testing.T) {
	e := newEnv(t)
	confy, lite := buildConfy(t, e, "24.10", "2.0", "")
	ctl := ipkMember(t, confy, "./control.tar.gz")
	if !strings.HasPrefix(ctl["control"], "Package: confy\nVersion: 2.0-r1\n") {
		t.Errorf("control %q", ctl["control"])
	}
	delete(ctl, "control")
	want := map[string]string{
		// ipkg-build keeps only the listed paths the package holds, folders expanded, sorted.
		"conffiles": "/etc/config/confy\n/etc/confy.d/a.conf\n/etc/confy.d/b.conf\n",
		"postinst":  ipkPostinst, "prerm": ipkPrerm,
		"preinst": confyPkg["preinst"], "postinst-pkg": confyPkg["postinst"], "prerm-pkg": confyPkg["prerm"], "postrm": confyPkg["postrm"],
	}
	if !reflect.DeepEqual(ctl, want) {
		t.Errorf("control archive\n%q, want\n%q", ctl, want)
	}
	data := ipkMember(t, confy, "./data.tar.gz")
	if got, want := data["lib/upgrade/keep.d/confy"], "/etc/confy.d/\n/etc/not-installed\n"; got != want {
		t.Errorf("keep.d %q, want %q (the conffiles that are not files)", got, want)
	}
	if data["usr/share/confy/data"] != "data 2.0\n" || data["etc/confy.d/a.conf"] != "a 2.0\n" {
		t.Errorf("data archive %q", data)
	}
	ctl = ipkMember(t, lite, "./control.tar.gz")
	delete(ctl, "control")
	if want := map[string]string{"postinst": ipkPostinst, "prerm": ipkPrerm}; !reflect.DeepEqual(ctl, want) {
		t.Errorf("confy-lite's control archive %q, want only the default scripts", ctl)
	}
	if _, ok := ipkMember(t, lite, "./data.tar.gz")["lib/upgrade/keep.d/confy-lite"]; ok {
		t.Error("confy-lite, without conffiles, has a keep.d file")
	}
}

// TestInstalledPackageKeepsConffiles installs what the stand-in built with Debian's dpkg, which
// treats conffiles as opkg does: a user's edits of an installed package's configuration survive
// its upgrade (the new defaults beside them as .dpkg-dist); an untouched conffile and a file
// that is no conffile are replaced; the package's own scripts run through the defaults.
func TestInstalledPackageKeepsConffiles(t *testing.T) {
	root := buildertest.DpkgRoot(t)
	e := newEnv(t)
	v1, _ := buildConfy(t, e, "24.10", "1.0", "")
	v11, _ := buildConfy(t, e, "24.10", "1.1", "")
	install := func(ipk string) {
		t.Helper()
		b, err := os.ReadFile(ipk)
		if err != nil {
			t.Fatal(err)
		}
		deb, err := buildertest.DebFromIPK(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := buildertest.DpkgInstall(root, deb); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Errorf("after the upgrade: %v", err)
		}
		return string(b)
	}
	install(v1)
	if got := read("etc/config/confy"); !strings.Contains(got, "'1.0'") {
		t.Fatalf("1.0 installed /etc/config/confy as %q", got)
	}
	edited := map[string]string{
		"etc/config/confy":     "config confy 'main'\n\toption mine 'yes'\n",
		"etc/confy.d/a.conf":   "a edited by the user\n",
		"usr/share/confy/data": "data edited by the user\n", // no conffile: the upgrade replaces it
	}
	for p, content := range edited {
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	install(v11)
	want := map[string]string{
		"etc/config/confy":             edited["etc/config/confy"],
		"etc/config/confy.dpkg-dist":   "config confy 'main'\n\toption version '1.1'\n",
		"etc/confy.d/a.conf":           edited["etc/confy.d/a.conf"],
		"etc/confy.d/a.conf.dpkg-dist": "a 1.1\n",
		"etc/confy.d/b.conf":           "b 1.1\n",
		"usr/share/confy/data":         "data 1.1\n",
		"lib/upgrade/keep.d/confy":     "/etc/confy.d/\n/etc/not-installed\n",
	}
	for p, w := range want {
		if got := read(p); got != w {
			t.Errorf("%s: %q, want %q", p, got, w)
		}
	}
	// dpkg runs preinst and postrm itself; postinst and prerm reach the package's own through
	// default_postinst and default_prerm, which source them, so their $1 is the script (1.0's
	// prerm runs on the upgrade).
	scripts := read("var/log/scripts")
	for _, line := range []string{
		"confy preinst install",
		"default_postinst /var/lib/dpkg/info/confy.postinst configure", "confy postinst /var/lib/dpkg/info/confy.postinst",
		"default_prerm /var/lib/dpkg/info/confy.prerm upgrade 1.1-r1", "confy prerm /var/lib/dpkg/info/confy.prerm",
		"confy preinst upgrade", "confy postrm upgrade", "default_postinst /var/lib/dpkg/info/confy.postinst configure 1.0-r1",
	} {
		if !strings.Contains("\n"+scripts, "\n"+line+"\n") {
			t.Errorf("the scripts did not log %q:\n%s", line, scripts)
		}
	}
}

// TestAPKPackageListsConffiles: a 25.12 build's .apk holds what package-pack.mk puts in it for
// apk, which keeps conffiles through lib/apk/packages/<pkg>.conffiles and .conffiles_static (a
// file's default checksum, so an edited one is kept) and runs the OpenWrt scripts it writes.
// No apk installer is available here (Alpine's apk is not packaged for Debian), so the package is
// read, not installed.
func TestAPKPackageListsConffiles(t *testing.T) {
	e := newEnv(t)
	e.image = testenv.StandinAPKImage(t)
	confy, lite := buildConfy(t, e, "25.12", "2.0", " \t\n")
	read := func(p string) *apktest.Contents {
		t.Helper()
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		c, err := apktest.ReadContents(f, adb.Limits{MaxADB: 1 << 20, MaxUnpacked: 16 << 20})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return c
	}
	c := read(confy)
	sum := sha256.Sum256([]byte("config confy 'main'\n\toption version '2.0'\n"))
	files := map[string]string{}
	for p, b := range c.Files {
		files[p] = string(b)
	}
	wantFiles := map[string]string{
		"etc/config/confy": "config confy 'main'\n\toption version '2.0'\n", "etc/confy.d/a.conf": "a 2.0\n", "etc/confy.d/b.conf": "b 2.0\n",
		"usr/share/confy/data": "data 2.0\n", "lib/upgrade/keep.d/confy": "/etc/confy.d/\n/etc/not-installed\n",
		// The list is made before the conffiles reach lib/apk/packages; keep.d is in it.
		"lib/apk/packages/confy.list": "/etc/config/confy\n/etc/confy.d/a.conf\n/etc/confy.d/b.conf\n/lib/upgrade/keep.d/confy\n/usr/share/confy/data\n",
		// The conffiles as listed; only files get a checksum.
		"lib/apk/packages/confy.conffiles":        "/etc/config/confy\n/etc/confy.d/\n/etc/not-installed\n",
		"lib/apk/packages/confy.conffiles_static": "/etc/config/confy " + hex.EncodeToString(sum[:]) + "\n",
	}
	if !reflect.DeepEqual(files, wantFiles) {
		t.Errorf("files\n%q, want\n%q", files, wantFiles)
	}
	head := "#!/bin/sh\n[ \"${IPKG_NO_SCRIPT}\" = \"1\" ] && exit 0\n[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n. ${IPKG_INSTROOT}/lib/functions.sh\n" +
		"export root=\"${IPKG_INSTROOT}\"\nexport pkgname=\"confy\"\n"
	postInstall := head + "add_group_and_user\ndefault_postinst\n" + "[ -n \"${IPKG_INSTROOT}\" ] || echo \"confy postinst $1\" >> /var/log/scripts\n"
	wantScripts := map[string]string{
		"pre-install":  confyPkg["preinst"],
		"post-install": postInstall,
		"pre-upgrade":  "#!/bin/sh\nexport PKG_UPGRADE=1\necho \"confy preinst $1\" >> /var/log/scripts\n",
		"post-upgrade": "#!/bin/sh\nexport PKG_UPGRADE=1\n" + strings.TrimPrefix(postInstall, "#!/bin/sh\n"),
		"pre-deinstall": "#!/bin/sh\n[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0\n. ${IPKG_INSTROOT}/lib/functions.sh\n" +
			"export root=\"${IPKG_INSTROOT}\"\nexport pkgname=\"confy\"\ndefault_prerm\necho \"confy prerm $1\" >> /var/log/scripts\n",
		// The blanks before the postrm's #! go (sed -z 's/^\s*#!/#!/').
		"post-deinstall": confyPkg["postrm"],
	}
	for name, want := range wantScripts {
		if got := c.Scripts[name]; got != want {
			t.Errorf("%s:\n%q, want\n%q", name, got, want)
		}
	}
	if len(c.Scripts) != len(wantScripts) {
		t.Errorf("scripts %q, want only %q", c.Scripts, wantScripts)
	}
	l := read(lite)
	var names []string
	for name := range l.Scripts {
		names = append(names, name)
	}
	if len(names) != 3 || l.Scripts["post-install"] == "" || l.Scripts["post-upgrade"] == "" || l.Scripts["pre-deinstall"] == "" {
		t.Errorf("confy-lite's scripts %q, want only post-install, post-upgrade, pre-deinstall (it defines none)", names)
	}
	for p := range l.Files {
		if strings.Contains(p, "conffiles") || strings.Contains(p, "keep.d") {
			t.Errorf("confy-lite, without conffiles, has %s", p)
		}
	}
}
