package apksign_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func signedIndex(t *testing.T, k *apksign.SecretKey, payload []byte) *adb.File {
	t.Helper()
	sig, err := k.SignADB(context.Background(), adb.SchemaIndex, payload)
	if err != nil {
		t.Fatal(err)
	}
	return &adb.File{Schema: adb.SchemaIndex, ADB: payload, Sigs: [][]byte{sig}}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	k, err := apksign.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := apksign.Generate(nil)
	payload := append(make([]byte, 8), "some heap"...)
	f := signedIndex(t, k, payload)
	if err := k.Public().Verify(f); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	s, err := adb.ParseSig(f.Sigs[0])
	if err != nil || s.HashAlg != adb.HashSHA512 || apksign.KeyID(s.KeyID) != k.ID || len(s.Sig) < 68 || len(s.Sig) > 72 {
		t.Fatalf("signature block %+v, %v: want SHA-512, key %s, 68-72 bytes of DER", s, err, k.ID)
	}
	cases := map[string]struct {
		f    *adb.File
		key  *apksign.PublicKey
		want error
	}{
		"other key":    {f, other.Public(), apksign.ErrNoSignature},
		"changed data": {&adb.File{Schema: f.Schema, ADB: append(bytes.Clone(payload), 'x'), Sigs: f.Sigs}, k.Public(), nil},
		"other schema": {&adb.File{Schema: adb.SchemaPackage, ADB: payload, Sigs: f.Sigs}, k.Public(), nil},
		"no signature": {&adb.File{Schema: f.Schema, ADB: payload}, k.Public(), apksign.ErrNoSignature},
		"corrupt sig":  {&adb.File{Schema: f.Schema, ADB: payload, Sigs: [][]byte{append(bytes.Clone(f.Sigs[0][:20]), 1, 2, 3)}}, k.Public(), nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.key.Verify(c.f)
			if err == nil {
				t.Fatal("verified")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// A second block by another key is skipped, as apk does.
	extra, _ := other.SignADB(context.Background(), adb.SchemaIndex, payload)
	two := &adb.File{Schema: adb.SchemaIndex, ADB: payload, Sigs: [][]byte{extra, f.Sigs[0]}}
	if err := k.Public().Verify(two); err != nil {
		t.Fatalf("with a foreign block first: %v", err)
	}
}

func TestPEMRoundTrip(t *testing.T) {
	k, err := apksign.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := k.MarshalPEM()
	if err != nil || !bytes.HasPrefix(sec, []byte("-----BEGIN EC PRIVATE KEY-----\n")) {
		t.Fatalf("secret PEM %q, %v", sec, err)
	}
	pub, err := k.Public().MarshalPEM()
	if err != nil || !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("public PEM %q, %v", pub, err)
	}
	k2, err := apksign.ParseSecretKey(sec)
	if err != nil || k2.ID != k.ID || !k2.Key.Equal(k.Key) {
		t.Fatalf("secret key back: %v, %v", k2, err)
	}
	p2, err := apksign.ParsePublicKey(pub)
	if err != nil || p2.ID != k.ID {
		t.Fatalf("public key back: %v, %v", p2, err)
	}
	bad := map[string][]byte{
		"empty":            nil,
		"public as secret": pub,
		"two blocks":       append(bytes.Clone(sec), sec...),
		"encrypted":        []byte("-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n"),
		"garbage DER":      []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
	}
	for name, data := range bad {
		if _, err := apksign.ParseSecretKey(data); err == nil {
			t.Errorf("%s: accepted as a secret key", name)
		}
	}
	if _, err := apksign.ParsePublicKey(sec); err == nil {
		t.Error("a secret key was accepted as a public key")
	}
}

// TestOpenSSLKeys: keys made the SDK's way (openssl ecparam, openssl ec -pubout) are read, and
// their ids agree; a P-384 key is refused.
func TestOpenSSLKeys(t *testing.T) {
	openssl := testenv.NeedCommand(t, "openssl")
	dir := t.TempDir()
	sec, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub.pem")
	run := func(args ...string) {
		if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec)
	run("ec", "-in", sec, "-pubout", "-out", pub)
	run("pkcs8", "-topk8", "-nocrypt", "-in", sec, "-out", filepath.Join(dir, "k8.pem"))
	run("ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", filepath.Join(dir, "p384.pem"))
	read := func(n string) []byte { b, _ := os.ReadFile(filepath.Join(dir, n)); return b }
	k, err := apksign.ParseSecretKey(read("k.pem"))
	if err != nil {
		t.Fatal(err)
	}
	k8, err := apksign.ParseSecretKey(read("k8.pem"))
	if err != nil || k8.ID != k.ID {
		t.Fatalf("PKCS#8 form: %v, %v", k8, err)
	}
	p, err := apksign.ParsePublicKey(read("k.pub.pem"))
	if err != nil || p.ID != k.ID {
		t.Fatalf("public key: %v, %v", p, err)
	}
	if _, err := apksign.ParseSecretKey(read("p384.pem")); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("P-384 key: %v, want a refusal naming P-256", err)
	}
}

func sharedAPKFeed(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "..", "shared", "testdata", "feeds", "apk-25.12-x86_64")
		if d := os.Getenv("OPENWRT_PPA_TESTDATA"); d != "" {
			p = filepath.Join(d, "feeds", "apk-25.12-x86_64")
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			testenv.MissingData(t, "the real 25.12 feed", "../shared/testdata/feeds/apk-25.12-x86_64 beside the repository (or OPENWRT_PPA_TESTDATA); TestSignVerifyRoundTrip covers the same code with keys made here")
		}
		dir = filepath.Dir(dir)
	}
}

// TestVerifyRealFeed: the real feed's key has the id in its index's signature block, and the
// signatures of the index and of a package signed by that key verify.
func TestVerifyRealFeed(t *testing.T) {
	dir := sharedAPKFeed(t)
	data, err := os.ReadFile(filepath.Join(dir, "Zerogiven_Feed.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := apksign.ParsePublicKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := pub.ID.String(); got != "43ff239048bfb46d3f6e68a47e86eecc" {
		t.Fatalf("key id %s, want the id in the real index's signature", got)
	}
	for _, name := range []string{"packages.adb", "reaction-2.5.1-r1.apk"} {
		fh, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := adb.ReadFile(fh, adb.Limits{})
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := pub.Verify(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.ADB[len(f.ADB)-1] ^= 1
		if err := pub.Verify(f); err == nil {
			t.Errorf("%s: verified after a change", name)
		}
	}
}
