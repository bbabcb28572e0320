package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

var keyTests = []test{
	{"key/created once per repository and kind", func(t *testing.T, s store.Store) {
		ks, ok := s.(store.KeyStore)
		if !ok {
			t.Skip("this store keeps no signing keys (the embedded mode keeps them as files)")
		}
		c := ctx(t)
		r := repo(t, s, "github", "1", "a", "b")
		main := store.SigningKey{RepoID: r.ID, Kind: store.KeyMain, Public: []byte("pub-main"), Secret: []byte("secret-main")}
		if err := ks.CreateSigningKey(c, main); err != nil {
			t.Fatal(err)
		}
		if err := ks.CreateSigningKey(c, store.SigningKey{RepoID: r.ID, Kind: store.KeyMain, Public: []byte("p2"), Secret: []byte("s2")}); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("second main key: %v, want ErrDuplicate", err)
		}
		if err := ks.CreateSigningKey(c, store.SigningKey{RepoID: r.ID, Kind: store.KeyPreview, Public: []byte("pub-prev"), Secret: []byte("secret-prev")}); err != nil {
			t.Fatal(err)
		}
		if err := ks.CreateSigningKey(c, store.SigningKey{RepoID: r.ID, Kind: "other", Public: []byte("p"), Secret: []byte("s")}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad kind: %v, want ErrInvalid", err)
		}
		got, err := ks.SigningKey(c, r.ID, store.KeyMain)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Public, main.Public) || !bytes.Equal(got.Secret, main.Secret) || got.Created.IsZero() {
			t.Fatalf("SigningKey(main) = %+v", got)
		}
		if got, _ := ks.SigningKey(c, r.ID, store.KeyPreview); string(got.Secret) != "secret-prev" {
			t.Fatalf("preview key secret = %q", got.Secret)
		}
		// The apk pair of the same role is a kind of its own, next to the usign one.
		if err := ks.CreateSigningKey(c, store.SigningKey{RepoID: r.ID, Kind: store.KeyAPKMain, Public: []byte("pub-apk"), Secret: []byte("secret-apk")}); err != nil {
			t.Fatalf("apk-main key beside main: %v", err)
		}
		if got, _ := ks.SigningKey(c, r.ID, store.KeyAPKMain); string(got.Secret) != "secret-apk" {
			t.Fatalf("apk-main key secret = %q", got.Secret)
		}
		if got, _ := ks.SigningKey(c, r.ID, store.KeyMain); string(got.Secret) != "secret-main" {
			t.Fatalf("main key secret after apk-main = %q", got.Secret)
		}
		if _, err := ks.SigningKey(c, 999, store.KeyMain); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown repository: %v", err)
		}
	}},
}
