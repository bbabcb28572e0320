package usign

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
)

const (
	commentPrefix = "untrusted comment: "
	maxComment    = 1024 // signify's limit
	pkAlg         = "Ed"
	kdfAlg        = "BK"
)

// Fingerprint is a key number: 8 random bytes that tie a signature to its key.
type Fingerprint [8]byte

// String is the 16-hex form usign -F prints and routers name key files by.
func (f Fingerprint) String() string { return hex.EncodeToString(f[:]) }

// PublicKey verifies signatures.
type PublicKey struct {
	Fingerprint Fingerprint
	Key         ed25519.PublicKey
	Comment     string
}

// SecretKey signs. Its Comment is written into the key file; its public half is Public().
type SecretKey struct {
	Fingerprint Fingerprint
	Key         ed25519.PrivateKey
	Comment     string
}

// Signature is one detached signature.
type Signature struct {
	Fingerprint Fingerprint
	Sig         []byte
	Comment     string
}

var _ feeds.Signer = (*SecretKey)(nil)

// Generate makes a new key pair from rand (crypto/rand when nil). comment names the key in its
// files, as usign -c does; empty gives usign's default.
func Generate(rnd io.Reader, comment string) (*SecretKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var fp Fingerprint
	if _, err := io.ReadFull(rnd, fp[:]); err != nil {
		return nil, fmt.Errorf("generating key number: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rnd)
	if err != nil {
		return nil, fmt.Errorf("generating key: %w", err)
	}
	if err := checkComment(comment); err != nil {
		return nil, err
	}
	return &SecretKey{Fingerprint: fp, Key: priv, Comment: comment}, nil
}

// Public returns the public half of k, with usign's comment for it.
func (k *SecretKey) Public() *PublicKey {
	comment := k.Comment
	if comment == "" {
		comment = "public key " + k.Fingerprint.String()
	}
	return &PublicKey{Fingerprint: k.Fingerprint, Key: k.Key.Public().(ed25519.PublicKey), Comment: comment}
}

// SignBytes signs msg.
func (k *SecretKey) SignBytes(msg []byte) *Signature {
	return &Signature{
		Fingerprint: k.Fingerprint,
		Sig:         ed25519.Sign(k.Key, msg),
		Comment:     "signed by key " + k.Fingerprint.String(),
	}
}

// Sign implements feeds.Signer: it returns the Packages.sig file for msg.
func (k *SecretKey) Sign(_ context.Context, msg []byte) ([]byte, error) {
	return k.SignBytes(msg).MarshalText()
}

// Verify checks sig over msg. It fails when the signature was made by another key (its key
// number differs) or does not match.
func (k *PublicKey) Verify(msg []byte, sig *Signature) error {
	if sig.Fingerprint != k.Fingerprint {
		return fmt.Errorf("signature is by key %s, not by key %s: install the matching public key", sig.Fingerprint, k.Fingerprint)
	}
	if !ed25519.Verify(k.Key, msg, sig.Sig) {
		return errors.New("signature does not match the data: the file was changed or signed by another key with the same number")
	}
	return nil
}

// MarshalText writes the public key file.
func (k *PublicKey) MarshalText() ([]byte, error) {
	blob := make([]byte, 0, 42)
	blob = append(blob, pkAlg...)
	blob = append(blob, k.Fingerprint[:]...)
	blob = append(blob, k.Key...)
	return encodeFile(k.Comment, blob)
}

// MarshalText writes the signature file.
func (s *Signature) MarshalText() ([]byte, error) {
	blob := make([]byte, 0, 74)
	blob = append(blob, pkAlg...)
	blob = append(blob, s.Fingerprint[:]...)
	blob = append(blob, s.Sig...)
	return encodeFile(s.Comment, blob)
}

// MarshalText writes the secret key file without a passphrase (KDF rounds 0), as usign -G does.
func (k *SecretKey) MarshalText() ([]byte, error) {
	comment := k.Comment
	if comment == "" {
		comment = "private key " + k.Fingerprint.String()
	}
	sum := sha512.Sum512(k.Key)
	blob := make([]byte, 0, 104)
	blob = append(blob, pkAlg...)
	blob = append(blob, kdfAlg...)
	blob = binary.BigEndian.AppendUint32(blob, 0) // KDF rounds: 0 means no passphrase
	blob = append(blob, make([]byte, 16)...)      // salt, unused without a passphrase
	blob = append(blob, sum[:8]...)               // checksum of the secret key
	blob = append(blob, k.Fingerprint[:]...)
	blob = append(blob, k.Key...)
	return encodeFile(comment, blob)
}

// ParsePublicKey reads a public key file.
func ParsePublicKey(data []byte) (*PublicKey, error) {
	comment, blob, err := decodeFile(data, 42)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	k := &PublicKey{Key: ed25519.PublicKey(bytes.Clone(blob[10:])), Comment: comment}
	copy(k.Fingerprint[:], blob[2:10])
	return k, nil
}

// ParseSignature reads a signature file.
func ParseSignature(data []byte) (*Signature, error) {
	comment, blob, err := decodeFile(data, 74)
	if err != nil {
		return nil, fmt.Errorf("signature: %w", err)
	}
	s := &Signature{Sig: bytes.Clone(blob[10:]), Comment: comment}
	copy(s.Fingerprint[:], blob[2:10])
	return s, nil
}

// ParseSecretKey reads a secret key file. Keys protected by a passphrase are refused: the service
// signs unattended.
func ParseSecretKey(data []byte) (*SecretKey, error) {
	comment, blob, err := decodeFile(data, 104)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	if string(blob[2:4]) != kdfAlg {
		return nil, fmt.Errorf("secret key: unknown KDF %q", blob[2:4])
	}
	if rounds := binary.BigEndian.Uint32(blob[4:8]); rounds != 0 {
		return nil, errors.New("secret key: protected by a passphrase; make one without (usign -G, or openwrt-ppa keygen)")
	}
	priv := ed25519.PrivateKey(bytes.Clone(blob[40:104]))
	sum := sha512.Sum512(priv)
	if subtle.ConstantTimeCompare(sum[:8], blob[24:32]) != 1 {
		return nil, errors.New("secret key: checksum mismatch: the file is damaged")
	}
	// The second half of an Ed25519 private key is its public key; check it so that a damaged
	// file cannot produce signatures nothing verifies.
	seedKey := ed25519.NewKeyFromSeed(priv.Seed())
	if !bytes.Equal(seedKey, priv) {
		return nil, errors.New("secret key: public half does not match: the file is damaged")
	}
	k := &SecretKey{Key: priv, Comment: comment}
	copy(k.Fingerprint[:], blob[32:40])
	return k, nil
}

func checkComment(c string) error {
	if len(c) > maxComment-len(commentPrefix) || strings.ContainsAny(c, "\n\r\x00") {
		return fmt.Errorf("key comment must be one line under %d characters", maxComment-len(commentPrefix))
	}
	return nil
}

func encodeFile(comment string, blob []byte) ([]byte, error) {
	if err := checkComment(comment); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(commentPrefix)
	b.WriteString(comment)
	b.WriteByte('\n')
	b.WriteString(base64.StdEncoding.EncodeToString(blob))
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// decodeFile reads "untrusted comment: …\n<base64>\n" and checks the algorithm and length.
func decodeFile(data []byte, size int) (string, []byte, error) {
	if len(data) > 4096 {
		return "", nil, errors.New("file is too large to be a usign file")
	}
	first, rest, ok := bytes.Cut(data, []byte{'\n'})
	if !ok || !bytes.HasPrefix(first, []byte(commentPrefix)) {
		return "", nil, fmt.Errorf("file must start with %q", commentPrefix)
	}
	line, _, _ := bytes.Cut(rest, []byte{'\n'})
	blob, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(line)))
	if err != nil {
		return "", nil, fmt.Errorf("second line is not base64: %w", err)
	}
	if len(blob) != size {
		return "", nil, fmt.Errorf("holds %d bytes, want %d (is it the right kind of usign file?)", len(blob), size)
	}
	if string(blob[:2]) != pkAlg {
		return "", nil, fmt.Errorf("algorithm %q is not Ed25519 (\"Ed\")", blob[:2])
	}
	return strings.TrimSpace(string(first[len(commentPrefix):])), blob, nil
}
