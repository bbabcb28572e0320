package adb

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
)

// Hash algorithms of a signature block (apk's APK_DIGEST_*).
const (
	HashSHA256 byte = 3
	HashSHA512 byte = 4 // what apk writes
)

// KeyID names a signing key: the first 16 bytes of SHA-512 of its public key (the EC point, or
// an RSA key's PKCS#1 form).
type KeyID [16]byte

// Sig is one signature block.
type Sig struct {
	HashAlg byte
	KeyID   KeyID
	Sig     []byte // ASN.1 DER for ECDSA, PKCS#1 v1.5 for RSA
}

// ParseSig reads a SIG block payload. A block of another version is an error (apk skips it).
func ParseSig(p []byte) (Sig, error) {
	if len(p) < 18 {
		return Sig{}, corrupt("signature block of %d bytes is shorter than its 18-byte header", len(p))
	}
	if p[0] != 0 {
		return Sig{}, corrupt("signature version %d is unknown", p[0])
	}
	s := Sig{HashAlg: p[1], Sig: p[18:]}
	copy(s.KeyID[:], p[2:18])
	return s, nil
}

// Payload is the SIG block payload of s.
func (s Sig) Payload() []byte {
	out := make([]byte, 0, 18+len(s.Sig))
	out = append(out, 0, s.HashAlg)
	out = append(out, s.KeyID[:]...)
	return append(out, s.Sig...)
}

// SignedMessage is what a signature covers: the schema, the signature header (version 0, the
// hash algorithm, the key id) and the hash of the ADB block payload. The signer hashes it again
// with SHA-512 and signs that.
func SignedMessage(schema uint32, hashAlg byte, id KeyID, payload []byte) ([]byte, error) {
	msg := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+18+64), schema)
	msg = append(msg, 0, hashAlg)
	msg = append(msg, id[:]...)
	switch hashAlg {
	case HashSHA512:
		md := sha512.Sum512(payload)
		msg = append(msg, md[:]...)
	case HashSHA256:
		md := sha256.Sum256(payload)
		msg = append(msg, md[:]...)
	default:
		return nil, fmt.Errorf("signature hash algorithm %d is not supported (apk writes 4, SHA-512)", hashAlg)
	}
	return msg, nil
}
