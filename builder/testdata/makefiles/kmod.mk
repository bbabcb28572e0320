include $(TOPDIR)/rules.mk
PKG_NAME:=foo-driver
PKG_RELEASE:=1
include $(INCLUDE_DIR)/kernel.mk
include $(INCLUDE_DIR)/package.mk

define KernelPackage/foo
  TITLE:=Foo driver
  DEPENDS:=+kmod-usb-core
endef

$(eval $(call KernelPackage,foo))
