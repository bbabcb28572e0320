include $(TOPDIR)/rules.mk

PKG_NAME:=hello
PKG_VERSION:=1.2.3
PKG_RELEASE:=2
PKG_SOURCE:=$(PKG_NAME)-$(PKG_VERSION).tar.gz

include $(INCLUDE_DIR)/package.mk

define Package/$(PKG_NAME)
  SECTION:=utils
  CATEGORY:=Utilities
  TITLE:=Hello world
  DEPENDS:=+libc +PACKAGE_hello-extra:libuci @TARGET_x86 \
	+zlib
endef

define Package/hello-extra
  TITLE:=Hello extras
  DEPENDS:=hello
endef

define Package/$(PKG_NAME)/install
	$(INSTALL_DIR) $(1)/usr/bin
	$(INSTALL_BIN) ./files/hello $(1)/usr/bin/
endef

$(eval $(call BuildPackage,$(PKG_NAME)))
$(eval $(call BuildPackage,hello-extra))
