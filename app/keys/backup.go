package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Backup is one signing key in a backup (usign keys in signify's text form, apk keys in PEM), named by its repository's forge identity (store ids
// differ between installations).
type Backup struct {
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
	Format string   `json:"format"`
	Keys   []Backup `json:"keys"`
}

const keyBackupFormat = "openwrt-ppa keys v1"

// Export writes every repository's signing keys to w and returns how many it wrote. Keys that do
// not exist yet are not made.
func Export(ctx context.Context, repos store.RepositoryStore, ring *Ring, w io.Writer) (int, error) {
	list, err := repos.ListRepositories(ctx, store.RepositoryQuery{IncludeDisabled: true, Limit: 1 << 30})
	if err != nil {
		return 0, err
	}
	out := keyBackupFile{Format: keyBackupFormat, Keys: []Backup{}}
	for _, r := range list {
		for _, kind := range store.KeyKinds {
			p, err := ring.existing(ctx, r.ID, kind)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return 0, fmt.Errorf("%s %s key: %w", r.Path(), kind, err)
			}
			out.Keys = append(out.Keys, Backup{Forge: r.Forge, ForgeID: r.ForgeID, Owner: r.Owner, Name: r.Name,
				Kind: kind, Public: string(p.pub), Secret: string(p.sec)})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return len(out.Keys), enc.Encode(out)
}

// Import reads a backup made by Export and installs its keys, registering repositories
// the store does not know. A repository that already has a different key of a kind is refused
// (routers trust the key it has) unless replace is set. It returns how many keys it installed.
func Import(ctx context.Context, repos store.RepositoryStore, ring *Ring, r io.Reader, replace bool) (int, error) {
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
		if err := checkKind(k.Kind); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", k.Owner, k.Name, err))
			continue
		}
		p, err := checkPair(k.Kind, []byte(k.Secret))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s %s key: %w", k.Owner, k.Name, k.Kind, err))
			continue
		}
		repo, err := repos.RepositoryByForgeID(ctx, k.Forge, k.ForgeID)
		if errors.Is(err, store.ErrNotFound) {
			repo, err = repos.PutRepository(ctx, store.Repository{Forge: k.Forge, ForgeID: k.ForgeID, Owner: k.Owner, Name: k.Name})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s/%s: %w", k.Owner, k.Name, err))
			continue
		}
		if err := ring.install(ctx, repo.ID, k.Kind, p, replace); err != nil {
			errs = append(errs, fmt.Errorf("%s/%s %s key: %w", k.Owner, k.Name, k.Kind, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// errKeyDiffers refuses to replace a repository's key with another one.
var errKeyDiffers = errors.New("the repository already has a different key of this kind; routers trust that one (pass --replace to overwrite it anyway)")
