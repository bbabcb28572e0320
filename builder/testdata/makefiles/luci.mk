include $(TOPDIR)/rules.mk

LUCI_TITLE:=LuCI support for Hello
LUCI_DEPENDS:=+luci-base +hello

PKG_LICENSE:=Apache-2.0

include ../../luci.mk

# call BuildPackage - OpenWrt buildroot signature
