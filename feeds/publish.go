package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// PublishRequest says what changes in a feed.
type PublishRequest struct {
	// Format is the feed's package format, which the series decides (opkg for 24.10, apk for
	// 25.12 and snapshots). A feed folder keeps one format: publishing the other is an error.
	Format Format
	// Add are paths of package files to publish (.ipk or .apk, as Format says). A newer version of a package already in the feed
	// replaces the older (StoreOptions.KeepVersions keeps more); the same version rebuilt replaces
	// it too.
	Add []string
	// Remove are package names that leave the feed (applied before Add).
	Remove []string
	// Signer signs the new index of an opkg feed, ADBSigner that of an apk feed. The one the
	// format needs is required: a feed is never published unsigned.
	Signer    Signer
	ADBSigner ADBSigner
	// IndexJSON is the index.json version the series' SDK writes (1 or 2; 0 means 1).
	IndexJSON int
}

// PackageInfo describes one package of a feed.
type PackageInfo struct {
	Name     string
	Version  string
	Arch     string
	Filename string
	Size     int64
	SHA256   string
}

// Refusal is a package that was not published, and why.
type Refusal struct {
	File    string // the path given in PublishRequest.Add
	Package string // the package name, when the control file could be read
	Reason  string
}

// PublishResult is what a publish did.
type PublishResult struct {
	Feed    FeedRef
	URLPath string        // the feed's URL path below the feed root, "/owner/repo/branch/series/arch/"
	Added   []PackageInfo // packages this publish put into the index
	Removed []PackageInfo // packages that left the index (removed or superseded)
	Refused []Refusal
	Index   []PackageInfo // every package the index now lists
}

func infoOf(p Package) PackageInfo {
	return PackageInfo{Name: p.Control.Package, Version: p.Control.Version, Arch: p.Control.Architecture, Filename: p.Filename, Size: p.Size, SHA256: p.SHA256}
}

// incoming is a package read from PublishRequest.Add.
type incoming struct {
	path string
	pkg  Package
}

// Publish changes a feed and switches it atomically: package files are written first under names
// no index uses yet, then the index files are staged and renamed into place (Packages.gz,
// Packages, Packages.sig), so a reader sees either the old index or the new one, and every entry
// of either can be downloaded with the checksum it lists. Files that leave the index stay for the
// grace period. Refused packages are reported in the result; the error is for failures that
// leave the feed as it was (bad feed name, I/O, signing).
func (s *Store) Publish(ctx context.Context, ref FeedRef, req PublishRequest) (*PublishResult, error) {
	started := s.opt.Now()
	rel, err := ref.Dir()
	if err != nil {
		return nil, fmt.Errorf("feed %s/%s: %w", ref.Owner, ref.Repo, err)
	}
	urlPath, _ := ref.URLPath()
	switch {
	case req.Format == FormatAPK && req.ADBSigner == nil:
		return nil, errors.New("publishing an apk feed needs an ADBSigner: feeds are never published unsigned")
	case req.Format == FormatOPKG && req.Signer == nil:
		return nil, errors.New("publishing needs a Signer: feeds are never published unsigned")
	case req.Format != FormatOPKG && req.Format != FormatAPK:
		return nil, fmt.Errorf("unknown feed format %d", req.Format)
	}
	res := &PublishResult{Feed: ref, URLPath: urlPath}
	var in []incoming
	if req.Format == FormatOPKG {
		in = s.readIncoming(ctx, ref, req.Add, res)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating feed folder: %w", err)
	}
	f := s.feed(rel)
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := s.load(f, dir, req.Format); err != nil {
		f.loaded = false
		return nil, err
	}
	if req.Format == FormatAPK {
		if err := s.publishAPK(ctx, ref, dir, f, req, res); err != nil {
			return nil, err
		}
		s.logPublish(res, started)
		return res, nil
	}
	now := s.opt.Now()

	// Place the new package files. Each gets a name that no index or retired file uses for other
	// content, so no file a router may be fetching changes under it.
	var newEntries []*entry
	for _, n := range in {
		name, err := s.place(dir, f, n)
		if err != nil {
			return nil, err
		}
		n.pkg.Filename = name
		newEntries = append(newEntries, newEntry(n.pkg))
	}
	entries, added := s.apply(f.entries, newEntries, req.Remove)

	ix, err := assembleIndex(ctx, IndexOptions{Arch: ref.Arch, IndexJSON: req.IndexJSON}, entries, &f.gz, req.Signer)
	if err != nil {
		return nil, fmt.Errorf("publishing %s: %w", urlPath, err)
	}

	// Files that leave the index start their grace period.
	inIndex := map[string]bool{}
	for _, e := range entries {
		inIndex[e.pkg.Filename] = true
	}
	retired := slices.DeleteFunc(slices.Clone(f.retired), func(r retiredFile) bool { return inIndex[r.Name] })
	for _, e := range f.entries {
		if !inIndex[e.pkg.Filename] {
			retired = append(retired, retiredFile{Name: e.pkg.Filename, SHA256: e.pkg.SHA256, Since: now})
			res.Removed = append(res.Removed, infoOf(e.pkg))
		}
	}
	// The retired list is switched before the index: a crash in between leaves extra files that
	// a later publish cleans, never a deleted file that an index lists.
	if err := writeIndexFiles(dir, ix, s.opt.Sync, namedFile{fileRetired, encodeRetired(retired)}); err != nil {
		f.loaded = false
		return nil, err
	}
	f.entries, f.retired = entries, retired
	if id, err := statID(filepath.Join(dir, FileManifest)); err == nil {
		f.from = id
	} else {
		f.loaded = false
	}
	s.collect(dir, f, now)

	for _, e := range entries {
		res.Index = append(res.Index, infoOf(e.pkg))
		if added[e] {
			res.Added = append(res.Added, infoOf(e.pkg))
		}
	}
	s.logPublish(res, started)
	return res, nil
}

func (s *Store) logPublish(res *PublishResult, started time.Time) {
	s.opt.Logger.Info("feed published", "feed", res.URLPath, "added", len(res.Added), "removed", len(res.Removed),
		"refused", len(res.Refused), "packages", len(res.Index), "took", s.opt.Now().Sub(started))
}

// readIncoming reads and checks the packages to add; refusals go into res.
func (s *Store) readIncoming(ctx context.Context, ref FeedRef, paths []string, res *PublishResult) []incoming {
	var out []incoming
	seen := map[string]string{}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	pkgs, errs := readFiles(ctx, paths, names, s.opt.MaxPackageSize)
	if ctx.Err() != nil {
		return nil
	}
	for i, p := range paths {
		pkg, err := pkgs[i], errs[i]
		if err != nil {
			res.Refused = append(res.Refused, Refusal{File: p, Reason: refusalReason(err)})
			continue
		}
		c := pkg.Control
		refuse := func(reason string) {
			res.Refused = append(res.Refused, Refusal{File: p, Package: c.Package, Reason: reason})
		}
		switch why := feedRefusal(c.Package, c.Architecture, ref.Arch, "all"); {
		case why != "":
			refuse(why)
		case seen[c.Package+"\x00"+c.Version] != "":
			refuse(fmt.Sprintf("the same version is also in %s, given earlier in the same publish", seen[c.Package+"\x00"+c.Version]))
		default:
			seen[c.Package+"\x00"+c.Version] = p
			out = append(out, incoming{path: p, pkg: pkg})
		}
	}
	return out
}

// refusalReason is why a package could not be read, without its file name.
func refusalReason(err error) string {
	var pe *PackageError
	if errors.As(err, &pe) {
		return pe.Reason()
	}
	return err.Error()
}

// feedRefusal says why a package that reads fine cannot enter a series feed for feedArch ("" when
// it can). anyArch is the architecture that fits every feed: "all" for opkg, "noarch" for apk.
func feedRefusal(name, arch, feedArch, anyArch string) string {
	switch {
	case arch != feedArch && arch != anyArch:
		return fmt.Sprintf("built for %s, but the feed is for %s", arch, feedArch)
	case strings.HasPrefix(name, "kmod-"):
		return "kernel modules depend on a target's exact kernel and cannot live in a series feed; they are not published yet"
	case name == "kernel" || name == "libc":
		return "packages named kernel and libc come from the release feeds (the SDK's index leaves them out); a feed of its own would shadow them"
	}
	return ""
}

// place copies an incoming package into the feed folder and returns its file name there.
func (s *Store) place(dir string, f *feedState, n incoming) (string, error) {
	c := n.pkg.Control
	version := c.Version
	if _, v, ok := strings.Cut(version, ":"); ok {
		version = v // opkg leaves the epoch out of file names
	}
	name := c.Package + "_" + version + "_" + c.Architecture + ".ipk"
	for attempt := 0; ; attempt++ {
		known, err := s.shaOf(dir, f, name)
		if err != nil {
			return "", err
		}
		if known == n.pkg.SHA256 {
			return name, nil // already there, byte for byte
		}
		if known == "" {
			break
		}
		// The name holds other content that an index (current or retired) may list: never
		// overwrite it; use a name carrying the content hash instead.
		name = c.Package + "_" + version + "_" + c.Architecture + "." + n.pkg.SHA256[:12+attempt] + ".ipk"
	}
	if err := copyIn(n.path, filepath.Join(dir, name), n.pkg.SHA256, s.opt.Sync); err != nil {
		return "", err
	}
	f.knownSHA[name] = n.pkg.SHA256
	return name, nil
}

// shaOf returns the SHA256 of a file in the feed folder ("" when there is none).
func (s *Store) shaOf(dir string, f *feedState, name string) (string, error) {
	if sum, ok := f.knownSHA[name]; ok {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return sum, nil
		}
	}
	fh, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("checking %s: %w", name, err)
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", fmt.Errorf("checking %s: %w", name, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	f.knownSHA[name] = sum
	return sum, nil
}

// copyIn copies src to dst through a staged file, checking that the bytes are those that were
// validated (the source could change between reading and copying).
func copyIn(src, dst, wantSHA string, sync bool) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copying %s into the feed: %w", src, err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return fmt.Errorf("copying %s into the feed: %w", src, err)
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != wantSHA {
		err = errors.New("the file changed while it was being published; publish it again")
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("copying %s into the feed: %w", src, err)
	}
	return nil
}

// apply returns the feed's entries after removing the named packages and adding the new
// entries, keeping the KeepVersions newest versions of each package and one file per version (of
// two files with the same package and version, the one just added wins). Only the packages named
// in the change are looked at, and the result is merged in order rather than sorted again: a
// publish of one package into a large feed stays cheap.
func (s *Store) apply(cur, add []*entry, remove []string) ([]*entry, map[*entry]bool) {
	touched := map[string]bool{}
	for _, name := range remove {
		touched[name] = true
	}
	groups := map[string][]*entry{}
	added := map[*entry]bool{}
	for _, e := range add {
		touched[e.pkg.Control.Package] = true
		groups[e.pkg.Control.Package] = append(groups[e.pkg.Control.Package], e)
		added[e] = true
	}
	kept := make([]*entry, 0, len(cur)+len(add))
	for _, e := range cur {
		name := e.pkg.Control.Package
		if !touched[name] {
			kept = append(kept, e)
		} else if _, adding := groups[name]; adding && !slices.Contains(remove, name) {
			groups[name] = append(groups[name], e)
		}
	}
	var ins []*entry
	for _, group := range groups {
		slices.SortStableFunc(group, func(a, b *entry) int {
			if c := CompareVersions(b.pkg.Control.Version, a.pkg.Control.Version); c != 0 {
				return c
			}
			switch {
			case added[a] && !added[b]:
				return -1
			case added[b] && !added[a]:
				return 1
			}
			return 0
		})
		var winners []*entry
		for _, e := range group {
			if len(winners) == s.opt.KeepVersions {
				break
			}
			if len(winners) > 0 && CompareVersions(winners[len(winners)-1].pkg.Control.Version, e.pkg.Control.Version) == 0 {
				continue
			}
			winners = append(winners, e)
		}
		ins = append(ins, winners...)
	}
	sortEntries(ins)
	// Merge the two sorted lists.
	out := make([]*entry, 0, len(kept)+len(ins))
	i, j := 0, 0
	for i < len(kept) || j < len(ins) {
		if j == len(ins) || i < len(kept) && kept[i].pkg.Filename < ins[j].pkg.Filename {
			out = append(out, kept[i])
			i++
		} else {
			out = append(out, ins[j])
			j++
		}
	}
	for e := range added {
		if !slices.Contains(ins, e) {
			delete(added, e)
		}
	}
	return out, added
}

func sortEntries(entries []*entry) []*entry {
	slices.SortFunc(entries, func(a, b *entry) int { return strings.Compare(a.pkg.Filename, b.pkg.Filename) })
	return entries
}

// collect deletes retired files whose grace period is over.
func (s *Store) collect(dir string, f *feedState, now time.Time) {
	inIndex := f.indexFiles()
	var keep []retiredFile
	changed := false
	for _, r := range f.retired {
		if now.Sub(r.Since) < s.opt.Grace || inIndex[r.Name] {
			keep = append(keep, r)
			continue
		}
		changed = true
		if err := os.Remove(filepath.Join(dir, r.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.opt.Logger.Warn("feed: cannot delete a retired package", "dir", dir, "file", r.Name, "err", err)
			keep = append(keep, r)
			continue
		}
		delete(f.knownSHA, r.Name)
	}
	if changed {
		if err := writeFileAtomic(filepath.Join(dir, fileRetired), encodeRetired(keep), s.opt.Sync); err != nil {
			s.opt.Logger.Warn("feed: cannot update the retired list", "dir", dir, "err", err)
			return
		}
		f.retired = keep
	}

}
