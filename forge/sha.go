package forge

import (
	"crypto/sha256"
	"encoding/hex"
)

// ValidSHA reports whether s is a full hex commit id (SHA-1 or SHA-256) and not all zeros.
func ValidSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 || s == ZeroSHA {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// BodyDeliveryID is the dedupe key of a delivery that came without a delivery id header: the
// same body delivered twice is the same delivery.
func BodyDeliveryID(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}
