// Package feeds turns built packages into signed feeds and serves them: opkg feeds (.ipk,
// Packages) for OpenWrt up to 24.10, apk v3 feeds (.apk, packages.adb) for 25.12 and snapshots.
//
// For opkg it reads .ipk files (ReadIPK, ReadPackageFile) and checks their control stanzas
// before they can enter an index (ParseControl); it writes the index files exactly as the
// OpenWrt SDK's `make package/index` does (BuildIndex, IndexDir). For apk it reads and checks
// .apk packages (ReadAPK), writes packages.adb as `apk mkndx` does, byte for byte, and
// index.json (BuildAPKIndex, IndexAPKDir), and writes packages (WriteAPK); feeds/adb is the
// container codec underneath. It keeps feeds on disk under the layout of DESIGN.md and
// publishes into them atomically, in the format the request names (Store); and it serves the
// feed root over HTTP (NewHandler). Signing goes through the Signer (usign, feeds/usign) and
// ADBSigner (ECDSA, feeds/apksign) seams.
//
// feeds never imports builder, forge or app.
package feeds
