// Package keyseal encrypts secrets the shared store keeps — the repositories' signing keys in
// Redis — with AES-256-GCM under a key the operator gives in the environment
// (OPENWRT_PPA_KEY_ENCRYPTION_KEY), so a copy of the Redis data alone does not give away keys
// that every router trusting a feed depends on.
package keyseal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an encryption key: AES-256.
const KeySize = 32

// version prefixes every sealed value, so the format can change without guessing.
const version byte = 1

// ErrOpen: a sealed value did not decrypt — a different encryption key, a value sealed for
// another purpose (the context differs), or damaged data.
var ErrOpen = errors.New("cannot decrypt sealed value")

// Sealer seals and opens values with one key. It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// New returns a Sealer for a KeySize-byte key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("key encryption key has %d bytes, want %d (make one with `openssl rand -base64 32`)", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("making AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("making GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// ParseKey reads a key as the environment gives it: base64 (standard or URL alphabet, padded or
// not) or hex of KeySize bytes, surrounding space ignored.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("key encryption key is not %d bytes in base64 or hex (make one with `openssl rand -base64 32`)", KeySize)
}

// GenerateKey returns a new random key in base64, as ParseKey reads it.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Seal encrypts plaintext. context binds the sealed value to its purpose (say, "repository 7
// main key"): Open succeeds only with the same context, so a sealed value copied to another
// record does not decrypt there.
func (s *Sealer) Seal(plaintext, context []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("reading a nonce: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, context), nil
}

// Open decrypts a value Seal made with the same key and context, or returns ErrOpen.
func (s *Sealer) Open(sealed, context []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != version {
		return nil, fmt.Errorf("sealed value is not in format version %d: %w", version, ErrOpen)
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], context)
	if err != nil {
		return nil, fmt.Errorf("wrong key encryption key or damaged data: %w", ErrOpen)
	}
	return plain, nil
}
