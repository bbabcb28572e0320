// Package apksign holds the ECDSA P-256 keys that sign apk v3 files (packages.adb and .apk), as
// OpenWrt 25.12's SDK makes them with `openssl ecparam -name prime256v1`: generation, PEM files
// (the public one is what a router puts in /etc/apk/keys/), the key id apk matches signatures by,
// signing (feeds.ADBSigner) and verifying.
package apksign
