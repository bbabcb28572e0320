package feeds

import "context"

// Signer signs a feed's index. feeds/usign implements it with a usign (Ed25519) key.
//
// Sign returns the bytes of Packages.sig for msg, the uncompressed Packages file. It must be safe
// for concurrent use. An error means nothing may be published: the caller keeps the previous index.
type Signer interface {
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// ADBSigner signs apk v3 files (packages.adb, and .apk packages). feeds/apksign implements it
// with an ECDSA P-256 key, as OpenWrt's SDK makes them.
//
// SignADB returns the payload of one SIG block (adb.Sig.Payload) over payload, the ADB block of a
// file whose header carries schema. It must be safe for concurrent use. An error means nothing
// may be published: the caller keeps the previous index.
type ADBSigner interface {
	SignADB(ctx context.Context, schema uint32, payload []byte) ([]byte, error)
}
