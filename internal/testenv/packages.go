package testenv

import (
	"fmt"
	"strings"
)

// PackageMakefile is an OpenWrt package Makefile that the SDK stand-in (and the real SDK) builds:
// package name at version, release 1, installing ./files/<name> as /usr/bin/<name>. A marker
// adds a "# STANDIN: <marker>" line that makes the stand-in misbehave (fail, hang, sleep N, …).
func PackageMakefile(name, version, marker string) string {
	m := ""
	if marker != "" {
		m = "# STANDIN: " + marker + "\n"
	}
	return fmt.Sprintf(`include $(TOPDIR)/rules.mk

PKG_NAME:=%[1]s
PKG_VERSION:=%[2]s
PKG_RELEASE:=1
PKG_SOURCE:=$(PKG_NAME)-$(PKG_VERSION).tar.gz

include $(INCLUDE_DIR)/package.mk
%[3]s
define Package/%[1]s
  SECTION:=utils
  TITLE:=The %[1]s package
  DEPENDS:=+libc
endef

define Package/%[1]s/install
	$(INSTALL_DIR) $(1)/usr/bin
	$(INSTALL_BIN) ./files/%[1]s $(1)/usr/bin/
endef

$(eval $(call BuildPackage,%[1]s))
`, name, version, m)
}

// PackageTree is a repository tree (path → content) with one package folder net/<name> per entry
// of pkgs, whose value is "<version>" or "<version> <marker>".
func PackageTree(pkgs map[string]string) map[string]string {
	files := map[string]string{}
	for name, spec := range pkgs {
		version, marker, _ := strings.Cut(spec, " ")
		files["net/"+name+"/Makefile"] = PackageMakefile(name, version, marker)
		files["net/"+name+"/files/"+name] = "#!/bin/sh\necho " + name + "\n"
	}
	return files
}
