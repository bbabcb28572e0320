// Package usign reads, writes and uses the Ed25519 keys and signatures of OpenWrt's usign, which
// share their file format with OpenBSD's signify: a line "untrusted comment: …" then the base64 of
// "Ed", an 8-byte key number and the key or signature. The key number, printed as 16 hex digits,
// is the fingerprint a router uses as the key's file name in /etc/opkg/keys.
package usign
