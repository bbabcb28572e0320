package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/model"
	"github.com/openwrt-ppa/openwrt-ppa/app/keys"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// feedLister reads what is published for the web pages.
type feedLister struct {
	feeds *feeds.Store
	keys  *keys.Ring
}

var _ web.FeedLister = (*feedLister)(nil)

// Feeds lists every published feed of a repository by walking its folder: branches, tags,
// latest and pull requests, each with series/arch folders holding an index.
func (l *feedLister) Feeds(ctx context.Context, repo store.Repository) ([]web.Feed, error) {
	rel, err := feeds.RepoDir(repo.Owner, repo.Name)
	if err != nil {
		return nil, nil
	}
	root := filepath.Join(l.feeds.Root(), filepath.FromSlash(rel))
	var out []web.Feed
	add := func(ref store.Ref, dir string) error {
		series, err := readDirNames(dir)
		if err != nil {
			return err
		}
		for _, s := range series {
			archs, err := readDirNames(filepath.Join(dir, s))
			if err != nil {
				return err
			}
			for _, a := range archs {
				fi, format, ok := feedIndex(filepath.Join(dir, s, a))
				if !ok {
					continue
				}
				pkgs, err := l.feeds.List(ctx, model.FeedRef(repo, ref, s, a))
				if err != nil {
					continue
				}
				out = append(out, web.Feed{Ref: ref, Series: s, Arch: a, Format: format, Packages: len(pkgs), Updated: fi.ModTime()})
			}
		}
		return nil
	}
	tops, err := readDirNames(root)
	if err != nil {
		return nil, err
	}
	for _, t := range tops {
		if t == "-" {
			continue
		}
		if err := add(store.Ref{Kind: store.RefBranch, Name: strings.ReplaceAll(t, "~", "/")}, filepath.Join(root, t)); err != nil {
			return nil, err
		}
	}
	for _, kind := range []struct {
		dir  string
		kind store.RefKind
	}{{"tags", store.RefTag}, {"pr", store.RefPR}} {
		names, err := readDirNames(filepath.Join(root, "-", kind.dir))
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if err := add(store.Ref{Kind: kind.kind, Name: strings.ReplaceAll(n, "~", "/")}, filepath.Join(root, "-", kind.dir, n)); err != nil {
				return nil, err
			}
		}
	}
	if err := add(store.Ref{Kind: store.RefTag}, filepath.Join(root, "-", "latest")); err != nil {
		return nil, err
	}
	return out, nil
}

// feedIndex finds a feed folder's index: Packages (opkg) or packages.adb (apk).
func feedIndex(dir string) (os.FileInfo, string, bool) {
	if fi, err := os.Stat(filepath.Join(dir, "Packages")); err == nil {
		return fi, web.FormatOPKG, true
	}
	if fi, err := os.Stat(filepath.Join(dir, feeds.FileAPKIndex)); err == nil {
		return fi, web.FormatAPK, true
	}
	return nil, "", false
}

// readDirNames lists the visible sub-folders of dir; a missing dir is empty.
func readDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Packages lists one feed's index; a tag ref without a name is the latest feed.
func (l *feedLister) Packages(ctx context.Context, repo store.Repository, ref store.Ref, series, arch string) ([]web.Package, error) {
	fr := model.FeedRef(repo, ref, series, arch)
	if ref.Kind == store.RefTag && ref.Name == "" {
		fr.Kind = feeds.LatestFeed
	}
	dir, err := fr.Dir()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, store.ErrNotFound)
	}
	full := filepath.Join(l.feeds.Root(), filepath.FromSlash(dir))
	if _, _, ok := feedIndex(full); !ok {
		return nil, fmt.Errorf("feed %s is not published: %w", fr, store.ErrNotFound)
	}
	infos, err := l.feeds.List(ctx, fr)
	if err != nil {
		return nil, err
	}
	out := make([]web.Package, 0, len(infos))
	for _, p := range infos {
		wp := web.Package{Name: p.Name, Version: p.Version, Filename: p.Filename, Size: p.Size}
		if fi, err := os.Stat(filepath.Join(full, filepath.Base(p.Filename))); err == nil {
			wp.Modified = fi.ModTime()
		}
		out = append(out, wp)
	}
	return out, nil
}

// KeyFingerprint is the fingerprint (apk: the key id) of a repository's key, "" before its
// first build of that format.
func (l *feedLister) KeyFingerprint(ctx context.Context, repo store.Repository, kind store.KeyKind) (string, error) {
	id, err := l.keys.KeyID(ctx, repo.ID, kind)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return id, err
}

// authorizer asks the repository's forge who may do what.
type authorizer struct{ s *Service }

var _ web.Authorizer = authorizer{}

// CanWrite: GitHub write, maintain or admin; GitLab Developer or more; for a repository by URL,
// whoever added it (signed in with any forge).
func (a authorizer) CanWrite(ctx context.Context, repo store.Repository, user web.User) (bool, error) {
	if repo.Forge == store.ForgeGit {
		return a.addedBy(ctx, repo, user)
	}
	if user.Forge != repo.Forge {
		return false, nil
	}
	f, err := a.s.forges.Get(forge.Name(repo.Forge))
	if err != nil {
		return false, err
	}
	return f.CanTrigger(ctx, model.ForgeRepo(repo), forge.User{Login: user.Login})
}

// addedBy reports whether user added the repository by URL. Once it is removed, only admins
// see it.
func (a authorizer) addedBy(ctx context.Context, repo store.Repository, user web.User) (bool, error) {
	if a.s.remotes == nil {
		return false, nil
	}
	rem, err := a.s.remotes.Store().Remote(ctx, repo.ID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rem.AddedBy == userID(user), nil
}

// CanRead answers for private repositories. The forge seam only knows who may trigger builds,
// so only those users see a private repository's pages: stricter than the forge, never looser.
func (a authorizer) CanRead(ctx context.Context, repo store.Repository, user web.User) (bool, error) {
	return a.CanWrite(ctx, repo, user)
}

// catalogueState is what GET /api/v1/admin/status shows of the SDK catalogue. Serve refreshes
// it only without --image and with --catalogue-refresh above 0 (runtime.go), and says which.
func (rt *Runtime) catalogueState() web.CatalogueState {
	if rt.Config.Image != "" {
		return web.CatalogueState{Source: "fixed image " + rt.Config.Image + " (--image): every job uses it, the registry is not asked", InUse: "fixed image"}
	}
	st := rt.Service.catalogues.Status()
	out := web.CatalogueState{Source: "registry " + cmp.Or(rt.Config.Registry, "of the embedded table"), InUse: st.InUse, Releases: st.Releases, LastOK: st.LastOK}
	if rt.Config.CatalogueRefresh <= 0 {
		out.Source = "embedded table (--catalogue-refresh=0): the registry is not asked"
	}
	if st.Err != nil {
		out.Err = st.Err.Error()
	}
	return out
}
