package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// KeyBackup is one signing key in a backup, named by its repository's forge identity (store ids
// differ between installations).
type KeyBackup struct {
	Forge   string        `json:"forge"`
	ForgeID string        `json:"forge_id"`
	Owner   string        `json:"owner"`
	Name    string        `json:"name"`
	Kind    store.KeyKind `json:"kind"`
	Public  string        `json:"public"`
	Secret  string        `json:"secret"`
}

// keyBackupFile is the backup's format: a version, so later formats can be told apart.
type keyBackupFile struct {
	Format string      `json:"format"`
	Keys   []KeyBackup `json:"keys"`
}

const keyBackupFormat = "openwrt-ppa keys v1"

// ExportKeys writes every repository's signing keys to w and returns how many it wrote. Keys
// that do not exist yet are not made.
func (rt *Runtime) ExportKeys(ctx context.Context, w io.Writer) (int, error) {
	repos, err := rt.Store.ListRepositories(ctx, store.RepositoryQuery{IncludeDisabled: true, Limit: 1 << 30})
	if err != nil {
		return 0, err
	}
	out := keyBackupFile{Format: keyBackupFormat, Keys: []KeyBackup{}}
	for _, r := range repos {
		for _, kind := range []store.KeyKind{store.KeyMain, store.KeyPreview} {
			sk, err := rt.Keys.existing(ctx, r.ID, kind)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("%s %s key: %w", r.Path(), kind, err)
			}
			sec, _ := sk.MarshalText()
			pub, _ := sk.Public().MarshalText()
			out.Keys = append(out.Keys, KeyBackup{Forge: r.Forge, ForgeID: r.ForgeID, Owner: r.Owner, Name: r.Name,
				Kind: kind, Public: string(pub), Secret: string(sec)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return len(out.Keys), enc.Encode(out)
}

// ImportKeys reads a backup made by ExportKeys and installs its keys, registering repositories
// the store does not know. A repository that already has a different key of a kind is refused
// (routers trust the key it has) unless replace is set. It returns how many keys it installed.
func (rt *Runtime) ImportKeys(ctx context.Context, r io.Reader, replace bool) (int, error) {
	var in keyBackupFile
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return 0, fmt.Errorf("reading the key backup: %w (give a file made by `openwrt-ppa keys export`)", err)
	}
	if in.Format != keyBackupFormat {
		return 0, fmt.Errorf("the key backup's format is %q, want %q", in.Format, keyBackupFormat)
	}
	n := 0
	var errs []error
	for _, k := range in.Keys {
		sk, err := usign.ParseSecretKey([]byte(k.Secret))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s %s key: %w", k.Owner, k.Name, k.Kind, err))
			continue
		}
		repo, err := rt.Store.RepositoryByForgeID(ctx, k.Forge, k.ForgeID)
		if errors.Is(err, store.ErrNotFound) {
			repo, err = rt.Store.PutRepository(ctx, store.Repository{Forge: k.Forge, ForgeID: k.ForgeID, Owner: k.Owner, Name: k.Name})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", k.Owner, k.Name, err))
			continue
		}
		if err := rt.Keys.install(ctx, repo.ID, k.Kind, sk, replace); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s %s key: %w", k.Owner, k.Name, k.Kind, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// errKeyDiffers refuses to replace a repository's key with another one.
var errKeyDiffers = errors.New("the repository already has a different key of this kind; routers trust that one (pass --replace to overwrite it anyway)")

func sameKey(a, b *usign.SecretKey) bool {
	return a.Fingerprint == b.Fingerprint && bytes.Equal(a.Key, b.Key)
}
