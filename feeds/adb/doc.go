// Package adb reads and writes apk-tools v3 "ADB" files: the container of OpenWrt 25.12's `.apk`
// packages and `packages.adb` indexes (the byte layout is described in the project's
// formats/apk-v3.md).
//
// It knows the container (compression prefix, file header, blocks), the value encoding of the
// ADB block (DB to read, Writer to write) and the signature block's layout and signed message.
// It knows nothing of packages or feeds: package feeds builds on it. The Writer lays values out
// as apk's own writer does (children first, identical values stored once, the same alignment), so
// that an index built from the same packages is byte for byte the one `apk mkndx` writes.
package adb
