package feeds

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is the package format of a feed: opkg (.ipk, Packages) for OpenWrt up to 24.10, apk
// (.apk, packages.adb) for 25.12 and snapshots.
type Format int

// The feed formats.
const (
	FormatOPKG Format = iota
	FormatAPK
)

func (f Format) String() string {
	if f == FormatAPK {
		return "apk"
	}
	return "opkg"
}

// fileAPKSums lists the SHA-256 of every package file an apk index lists (the index holds the
// hash of each package's metadata, not of the file), so that a publish reports them without
// reading the files again. Dot files are never served.
const fileAPKSums = ".apk-sha256"

// loadAPK brings f up to date with the apk feed folder dir, whose packages.adb was stat'ed as id.
func (s *Store) loadAPK(f *feedState, dir string, id fileID) error {
	if f.loaded && f.format == FormatAPK && id == f.from {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, FileAPKIndex))
	if err != nil {
		return fmt.Errorf("reading the feed's index: %w", err)
	}
	_, entries, err := readAPKIndex(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%s: %w (remove it to have the feed re-read its packages)", filepath.Join(dir, FileAPKIndex), err)
	}
	sums := readAPKSums(filepath.Join(dir, fileAPKSums))
	for _, e := range entries {
		if sum, ok := sums[e.file.Filename]; ok {
			e.file.SHA256 = sum
		}
	}
	f.format, f.apk, f.entries, f.from = FormatAPK, entries, nil, id
	f.gz = gzCache{}
	removeStaleStaging(dir, s.opt.Now())
	return nil
}

// scanAPK reads the .apk files of a folder that has no index yet.
func (s *Store) scanAPK(dir string) []*apkEntry {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var entries []*apkEntry
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), ".apk") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		p, err := ReadAPKFile(filepath.Join(dir, de.Name()), de.Name(), s.opt.MaxPackageSize)
		if err != nil {
			s.opt.Logger.Warn("feed: ignoring an unreadable package already in the folder", "dir", dir, "err", err)
			continue
		}
		if de.Name() != apkFileName(p.Info.Name, p.Info.Version) {
			s.opt.Logger.Warn("feed: ignoring a package whose file name routers would not ask for", "dir", dir, "file", de.Name())
			continue
		}
		entries = append(entries, newAPKEntry(p))
	}
	return entries
}

func readAPKSums(path string) map[string]string {
	out := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), " ")
		if ok && len(sum) == 64 && isPlainFileName(name) {
			out[name] = sum
		}
	}
	return out
}

func encodeAPKSums(entries []*apkEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		if e.file.SHA256 != "" {
			fmt.Fprintf(&b, "%s %s\n", e.file.SHA256, e.file.Filename)
		}
	}
	return b.Bytes()
}

// publishAPK is Publish for an apk feed; f is locked and loaded.
func (s *Store) publishAPK(ctx context.Context, ref FeedRef, dir string, f *feedState, req PublishRequest, res *PublishResult) error {
	in := s.readIncomingAPK(ctx, ref, req.Add, res)
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.opt.Now()
	var newEntries []*apkEntry
	for _, n := range in {
		name := apkFileName(n.pkg.Info.Name, n.pkg.Info.Version)
		if err := s.placeAPK(dir, f, n, name); err != nil {
			return err
		}
		n.pkg.Filename = name
		newEntries = append(newEntries, newAPKEntry(n.pkg))
	}
	entries, added := s.applyAPK(f.apk, newEntries, req.Remove)
	var signers []ADBSigner
	if req.ADBSigner != nil {
		signers = append(signers, req.ADBSigner)
	}
	ix, err := assembleAPKIndex(ctx, entries, APKIndexOptions{Arch: ref.Arch, Signers: signers})
	if err != nil {
		return fmt.Errorf("publishing %s: %w", res.URLPath, err)
	}

	inIndex := map[string]bool{}
	for _, e := range entries {
		inIndex[e.file.Filename] = true
	}
	retired := slices.DeleteFunc(slices.Clone(f.retired), func(r retiredFile) bool { return inIndex[r.Name] })
	for _, e := range f.apk {
		if !inIndex[e.file.Filename] {
			retired = append(retired, retiredFile{Name: e.file.Filename, SHA256: e.file.SHA256, Since: now})
			res.Removed = append(res.Removed, e.file)
		}
	}
	// As for opkg: the retired list (and the file hashes) are switched before the index.
	files := []namedFile{
		{fileRetired, encodeRetired(retired)},
		{fileAPKSums, encodeAPKSums(ix.entries)},
		{FileAPKIndex, ix.File},
		{FileIndexJSON, ix.IndexJSON},
	}
	if err := switchFiles(dir, files, s.opt.Sync); err != nil {
		f.loaded = false
		return err
	}
	f.apk, f.retired = ix.entries, retired
	if id, err := statID(filepath.Join(dir, FileAPKIndex)); err == nil {
		f.from = id
	} else {
		f.loaded = false
	}
	s.collect(dir, f, now)
	for _, e := range ix.Entries {
		res.Index = append(res.Index, e)
		if added[e.Filename] {
			res.Added = append(res.Added, e)
		}
	}
	return nil
}

// readIncomingAPK reads and checks the apk packages to add; refusals go into res.
func (s *Store) readIncomingAPK(ctx context.Context, ref FeedRef, paths []string, res *PublishResult) []incomingAPK {
	var out []incomingAPK
	seen := map[string]string{}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	pkgs, errs := readAPKFiles(ctx, paths, names, s.opt.MaxPackageSize)
	if ctx.Err() != nil {
		return nil
	}
	for k, p := range paths {
		pkg, err := pkgs[k], errs[k]
		if err != nil {
			res.Refused = append(res.Refused, Refusal{File: p, Reason: refusalReason(err)})
			continue
		}
		i := pkg.Info
		refuse := func(reason string) {
			res.Refused = append(res.Refused, Refusal{File: p, Package: i.Name, Reason: reason})
		}
		key := i.Name + "\x00" + i.Version
		switch why := feedRefusal(i.Name, i.Arch, ref.Arch, "noarch"); {
		case why != "":
			refuse(why)
		case seen[key] != "":
			refuse(fmt.Sprintf("the same version is also in %s, given earlier in the same publish", seen[key]))
		default:
			seen[key] = p
			out = append(out, incomingAPK{path: p, pkg: pkg})
		}
	}
	return out
}

// incomingAPK is a package read from PublishRequest.Add.
type incomingAPK struct {
	path string
	pkg  APKPackage
}

// placeAPK copies a package into the feed folder as name, the only name a router asks for
// (apk's default ${name}-${version}.apk). Unlike an opkg feed, a rebuild of the same version with
// other bytes must replace the file under its name: a router that still holds the previous index
// then fails that one download with "ADB integrity error" until its next `apk update`.
func (s *Store) placeAPK(dir string, f *feedState, n incomingAPK, name string) error {
	known, err := s.shaOf(dir, f, name)
	if err != nil {
		return err
	}
	if known == n.pkg.SHA256 {
		return nil
	}
	if err := copyIn(n.path, filepath.Join(dir, name), n.pkg.SHA256, s.opt.Sync); err != nil {
		return err
	}
	f.knownSHA[name] = n.pkg.SHA256
	return nil
}

// applyAPK is apply for apk entries: removals, then the new entries, keeping the KeepVersions
// newest versions of each package name (a version added now replaces the same version). The
// index writer sorts the result.
func (s *Store) applyAPK(cur, add []*apkEntry, remove []string) ([]*apkEntry, map[string]bool) {
	groups := map[string][]*apkEntry{}
	for _, e := range add {
		groups[e.info.Name] = append(groups[e.info.Name], e)
	}
	var out []*apkEntry
	for _, e := range cur {
		switch _, adding := groups[e.info.Name]; {
		case slices.Contains(remove, e.info.Name):
		case adding:
			groups[e.info.Name] = append(groups[e.info.Name], e)
		default:
			out = append(out, e)
		}
	}
	added := map[string]bool{}
	for _, e := range add {
		added[e.file.Filename] = true
	}
	for _, group := range groups {
		// Newest first; of two entries of the same version the one added now comes first (it
		// was appended first).
		slices.SortStableFunc(group, func(a, b *apkEntry) int { return CompareAPKVersions(b.info.Version, a.info.Version) })
		var kept []*apkEntry
		for _, e := range group {
			if len(kept) == s.opt.KeepVersions {
				break
			}
			if len(kept) > 0 && CompareAPKVersions(kept[len(kept)-1].info.Version, e.info.Version) == 0 {
				continue
			}
			kept = append(kept, e)
		}
		out = append(out, kept...)
	}
	for name := range added {
		if !slices.ContainsFunc(out, func(e *apkEntry) bool { return e.file.Filename == name && e.fromPackage }) {
			delete(added, name)
		}
	}
	return out, added
}

// indexOnDisk reports which index a feed folder holds (ok false: none), and the stat of
// packages.adb for an apk one.
func indexOnDisk(dir string) (format Format, ok bool, id fileID, err error) {
	id, err = statID(filepath.Join(dir, FileAPKIndex))
	_, merr := os.Stat(filepath.Join(dir, FileManifest))
	switch {
	case err == nil && merr == nil:
		return 0, false, fileID{}, fmt.Errorf("%s holds both an opkg and an apk index; remove the one that does not belong", dir)
	case err == nil:
		return FormatAPK, true, id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return 0, false, fileID{}, fmt.Errorf("reading the feed's index: %w", err)
	case merr == nil:
		return FormatOPKG, true, fileID{}, nil
	}
	return FormatOPKG, false, fileID{}, nil
}
