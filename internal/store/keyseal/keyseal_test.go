package keyseal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func sealer(t *testing.T) *Sealer {
	t.Helper()
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseKey(k)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealOpenRoundTripAndRefusals(t *testing.T) {
	s, other := sealer(t), sealer(t)
	secret := []byte("untrusted comment: usign secret key\nRWRCSwAAAA...")
	sealed, err := s.Seal(secret, []byte("repo 1 main"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret[:20]) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, _ := s.Seal(secret, []byte("repo 1 main"))
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of the same value are equal: the nonce is not random")
	}
	got, err := s.Open(sealed, []byte("repo 1 main"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	flipped := append([]byte(nil), sealed...)
	flipped[len(flipped)-1] ^= 1
	for name, tc := range map[string]struct {
		s       *Sealer
		sealed  []byte
		context string
	}{
		"other context": {s, sealed, "repo 2 main"},
		"other key":     {other, sealed, "repo 1 main"},
		"damaged":       {s, flipped, "repo 1 main"},
		"truncated":     {s, sealed[:10], "repo 1 main"},
		"empty":         {s, nil, "repo 1 main"},
	} {
		if _, err := tc.s.Open(tc.sealed, []byte(tc.context)); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open = %v, want ErrOpen", name, err)
		}
	}
}

func TestParseKeyFormats(t *testing.T) {
	raw := bytes.Repeat([]byte{0xab}, KeySize)
	for name, in := range map[string]string{
		"hex":        hex.EncodeToString(raw),
		"base64":     base64.StdEncoding.EncodeToString(raw),
		"raw url":    base64.RawURLEncoding.EncodeToString(raw),
		"whitespace": " " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		got, err := ParseKey(in)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: ParseKey = %x, %v", name, got, err)
		}
	}
	for _, bad := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	if _, err := New(raw[:16]); err == nil {
		t.Error("New accepted a 16-byte key")
	}
}
