package apksign

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// KeyID is what apk matches a signature to its key by: SHA-512 of the public key's EC point,
// cut to 16 bytes. It plays the part of a usign key's fingerprint; the key's file name on a
// router does not matter.
type KeyID adb.KeyID

// String is the 32-hex form.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// PublicKey verifies signatures.
type PublicKey struct {
	Key *ecdsa.PublicKey
	ID  KeyID
}

// SecretKey signs.
type SecretKey struct {
	Key *ecdsa.PrivateKey
	ID  KeyID
}

var _ feeds.ADBSigner = (*SecretKey)(nil)

// Generate makes a new P-256 key pair from rnd (crypto/rand when nil).
func Generate(rnd io.Reader) (*SecretKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	return newSecret(k)
}

func newSecret(k *ecdsa.PrivateKey) (*SecretKey, error) {
	id, err := keyID(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &SecretKey{Key: k, ID: id}, nil
}

func keyID(pub *ecdsa.PublicKey) (KeyID, error) {
	if pub.Curve != elliptic.P256() {
		return KeyID{}, fmt.Errorf("the key is on curve %s; OpenWrt's apk keys are P-256 (prime256v1)", pub.Curve.Params().Name)
	}
	e, err := pub.ECDH()
	if err != nil {
		return KeyID{}, fmt.Errorf("public key: %w", err)
	}
	return idOfPoint(e), nil
}

func idOfPoint(e *ecdh.PublicKey) KeyID {
	sum := sha512.Sum512(e.Bytes())
	var id KeyID
	copy(id[:], sum[:16])
	return id
}

// Public is the public half of k.
func (k *SecretKey) Public() *PublicKey { return &PublicKey{Key: &k.Key.PublicKey, ID: k.ID} }

// SignADB implements feeds.ADBSigner: one SIG block payload over payload, as apk writes it
// (SHA-512 of the payload in the signed message, ECDSA over SHA-512 of the message, DER).
func (k *SecretKey) SignADB(_ context.Context, schema uint32, payload []byte) ([]byte, error) {
	msg, err := adb.SignedMessage(schema, adb.HashSHA512, adb.KeyID(k.ID), payload)
	if err != nil {
		return nil, err
	}
	h := sha512.Sum512(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k.Key, h[:])
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return adb.Sig{HashAlg: adb.HashSHA512, KeyID: adb.KeyID(k.ID), Sig: sig}.Payload(), nil
}

// ErrNoSignature says that no signature block is by the key.
var ErrNoSignature = errors.New("no signature by this key")

// VerifyADB checks one SIG block payload over payload of a file with schema. It fails with
// ErrNoSignature when the block is by another key.
func (k *PublicKey) VerifyADB(schema uint32, payload, sigBlock []byte) error {
	s, err := adb.ParseSig(sigBlock)
	if err != nil {
		return err
	}
	if KeyID(s.KeyID) != k.ID {
		return fmt.Errorf("%w: the signature is by key %s, not %s", ErrNoSignature, KeyID(s.KeyID), k.ID)
	}
	msg, err := adb.SignedMessage(schema, s.HashAlg, s.KeyID, payload)
	if err != nil {
		return err
	}
	h := sha512.Sum512(msg)
	if !ecdsa.VerifyASN1(k.Key, h[:], s.Sig) {
		return errors.New("the signature does not match: the file was changed, or signed by another key with the same id")
	}
	return nil
}

// Verify checks that one of the file's signature blocks is by k and matches, as apk does (a
// block by another key is skipped).
func (k *PublicKey) Verify(f *adb.File) error {
	var last error = fmt.Errorf("%w (key %s): the file has %d signature blocks", ErrNoSignature, k.ID, len(f.Sigs))
	for _, s := range f.Sigs {
		err := k.VerifyADB(f.Schema, f.ADB, s)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrNoSignature) {
			last = err
		}
	}
	return last
}

// MarshalPEM writes the public key as a router installs it in /etc/apk/keys/: an SPKI
// "PUBLIC KEY" PEM block, as `openssl ec -pubout` writes.
func (k *PublicKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPEM writes the secret key as `openssl ecparam -genkey -noout` does: an SEC 1
// "EC PRIVATE KEY" PEM block, without a passphrase.
func (k *SecretKey) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

const maxPEM = 16 << 10

func onePEM(data []byte, what string) (*pem.Block, error) {
	if len(data) > maxPEM {
		return nil, fmt.Errorf("%s: file is too large to be a key", what)
	}
	b, rest := pem.Decode(data)
	if b == nil {
		return nil, fmt.Errorf("%s: no PEM block (want -----BEGIN …-----)", what)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%s: more than one PEM block; give one key per file", what)
	}
	if _, ok := b.Headers["Proc-Type"]; ok {
		return nil, fmt.Errorf("%s: protected by a passphrase; the service signs unattended, so make one without (openwrt-ppa keygen, or openssl ecparam -name prime256v1 -genkey -noout)", what)
	}
	return b, nil
}

// ParsePublicKey reads a PEM public key ("PUBLIC KEY", SPKI).
func ParsePublicKey(data []byte) (*PublicKey, error) {
	b, err := onePEM(data, "public key")
	if err != nil {
		return nil, err
	}
	if b.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("public key: PEM block is %q, want \"PUBLIC KEY\"", b.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key: a %T, not an ECDSA P-256 key", pub)
	}
	id, err := keyID(ec)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return &PublicKey{Key: ec, ID: id}, nil
}

// ParseSecretKey reads a PEM secret key: "EC PRIVATE KEY" (SEC 1, what openssl ecparam writes)
// or "PRIVATE KEY" (PKCS #8) holding a P-256 key.
func ParseSecretKey(data []byte) (*SecretKey, error) {
	b, err := onePEM(data, "secret key")
	if err != nil {
		return nil, err
	}
	var k *ecdsa.PrivateKey
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "PRIVATE KEY":
		var any any
		if any, err = x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
			var ok bool
			if k, ok = any.(*ecdsa.PrivateKey); !ok {
				return nil, fmt.Errorf("secret key: a %T, not an ECDSA P-256 key", any)
			}
		}
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("secret key: protected by a passphrase; the service signs unattended, so make one without")
	default:
		return nil, fmt.Errorf("secret key: PEM block is %q, want \"EC PRIVATE KEY\" or \"PRIVATE KEY\"", b.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	sk, err := newSecret(k)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return sk, nil
}
