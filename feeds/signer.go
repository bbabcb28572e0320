package feeds

import "context"

// Signer signs a feed's index. feeds/usign implements it with a usign (Ed25519) key.
//
// Sign returns the bytes of Packages.sig for msg, the uncompressed Packages file. It must be safe
// for concurrent use. An error means nothing may be published: the caller keeps the previous index.
type Signer interface {
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}
