package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// Limits on an .apk package's metadata, far above what OpenWrt packages need: a hostile package
// must not make the index (and every router reading it) carry megabytes.
const (
	maxAPKMetadata = 16 << 20 // the ADB block of a package (it lists every file)
	maxAPKText     = 8 << 10  // one text field of pkginfo
	maxAPKDeps     = 1024     // elements of one dependency list
	maxAPKTags     = 64
)

// APKPackage is an .apk (apk v3) package that was read and checked: what an index says about it.
type APKPackage struct {
	Filename string // path relative to the feed folder, '/'-separated
	Size     int64
	SHA256   string   // of the whole file, lower-case hex
	Identity [32]byte // SHA-256 of the ADB block payload: the index's "hashes"
	Info     APKInfo
	// SignedBy are the key ids of the package's own signature blocks (not verified: under a
	// signed index the client trusts a package through its identity).
	SignedBy []adb.KeyID

	db   adb.DB  // the ADB block payload, from which the index copies pkginfo byte for byte
	info adb.Val // pkginfo in db
}

// APKInfo is a package's pkginfo, decoded.
type APKInfo struct {
	Name, Version, Arch                        string
	Description, License, Origin, Maintainer   string
	URL                                        string
	InstalledSize, ProviderPriority, BuildTime uint64
	FileSize                                   uint64 // set in an index only
	Depends, Provides, Replaces                []APKDep
	InstallIf, Recommends                      []APKDep
	Tags                                       []string
}

// ABIVersion is the ABI suffix of the name, from the tag openwrt:abiversion=<abi> that OpenWrt
// puts on ABI-versioned libraries ("" when none).
func (i *APKInfo) ABIVersion() string {
	for _, t := range i.Tags {
		if abi, ok := strings.CutPrefix(t, "openwrt:abiversion="); ok {
			return abi
		}
	}
	return ""
}

// APKDep is one dependency (or provided name, conflict, …).
type APKDep struct {
	Name    string
	Version string // "" for no constraint
	Match   int    // adb.Match* bits; 0 with a version means "="
}

// String is the dependency as apk prints it: "libc", "libc>=1.2", "!conflict".
func (d APKDep) String() string {
	op := d.Match
	if op == 0 {
		op = adb.MatchEqual
	}
	neg := ""
	if op&adb.MatchConflict != 0 {
		neg = "!"
	}
	if d.Version == "" {
		return neg + d.Name
	}
	var ops string
	switch op &^ adb.MatchConflict {
	case adb.MatchLess:
		ops = "<"
	case adb.MatchLess | adb.MatchEqual:
		ops = "<="
	case adb.MatchLess | adb.MatchEqual | adb.MatchFuzzy:
		ops = "<~"
	case adb.MatchEqual | adb.MatchFuzzy, adb.MatchFuzzy:
		ops = "~"
	case adb.MatchEqual:
		ops = "="
	case adb.MatchGreater | adb.MatchEqual:
		ops = ">="
	case adb.MatchGreater | adb.MatchEqual | adb.MatchFuzzy:
		ops = ">~"
	case adb.MatchGreater:
		ops = ">"
	case adb.MatchChecksum:
		ops = "><"
	default:
		ops = "?"
	}
	return neg + d.Name + ops + d.Version
}

// ErrNotAPK is wrapped by errors about input that is not an .apk v3 package at all.
var ErrNotAPK = adb.ErrNotADB

// MetadataError says which pkginfo field of a package is wrong and why.
type MetadataError struct {
	Field  string
	Reason string
}

func (e *MetadataError) Error() string {
	if e.Field == "" {
		return "package metadata: " + e.Reason
	}
	return "package metadata field " + e.Field + ": " + e.Reason
}

// ReadAPK reads an .apk v3 package from r, checks it and returns it with filename as its
// Filename. It reads r to its end (the whole file is hashed). maxSize caps the file
// (DefaultMaxPackageSize when 0).
func ReadAPK(r io.Reader, filename string, maxSize int64) (APKPackage, error) {
	return new(apkReader).read(r, filename, maxSize)
}

// apkReader holds the buffers of one reader, reused from package to package.
type apkReader struct {
	adb adb.Reader
	sha hash.Hash
}

func (x *apkReader) read(r io.Reader, filename string, maxSize int64) (APKPackage, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxPackageSize
	}
	if x.sha == nil {
		x.sha = sha256.New()
	}
	h := x.sha
	h.Reset()
	cr := &countReader{r: io.LimitReader(r, maxSize+1)}
	f, err := x.adb.ReadFile(io.TeeReader(cr, h), adb.Limits{MaxADB: maxAPKMetadata, MaxUnpacked: maxUnpacked})
	if err == nil && f.Schema != adb.SchemaPackage {
		err = fmt.Errorf("%w: its schema is %q, not \"pckg\" (is it an index?)", ErrNotAPK, schemaName(f.Schema))
	}
	if err == nil {
		// Drain what is left so that the hash covers the file (ReadFile stops at the end of the
		// compressed stream, and refuses data after it).
		_, err = io.Copy(io.Discard, io.TeeReader(cr, h))
	}
	if err != nil {
		if cr.n > maxSize {
			err = fmt.Errorf("file is larger than the limit of %d bytes", maxSize)
		}
		return APKPackage{}, &PackageError{File: filename, Err: err}
	}
	if cr.n > maxSize {
		return APKPackage{}, &PackageError{File: filename, Err: fmt.Errorf("file is larger than the limit of %d bytes", maxSize)}
	}
	p := APKPackage{Filename: filename, Size: cr.n, SHA256: hex.EncodeToString(h.Sum(nil)), Identity: sha256.Sum256(f.ADB), db: adb.DB(f.ADB)}
	for _, s := range f.Sigs {
		if sig, err := adb.ParseSig(s); err == nil {
			p.SignedBy = append(p.SignedBy, sig.KeyID)
		}
	}
	root, err := p.db.Obj(p.db.Root())
	if err != nil {
		return APKPackage{}, &PackageError{File: filename, Err: err}
	}
	p.info = root.Val(adb.PackageInfo)
	info, err := decodeAPKInfo(p.db, p.info, false)
	if err != nil {
		return APKPackage{}, &PackageError{File: filename, Err: err}
	}
	p.Info = *info
	return p, nil
}

// ReadAPKFile reads the package at path; filename is what the index will call it.
func ReadAPKFile(path, filename string, maxSize int64) (APKPackage, error) {
	return new(apkReader).readFile(path, filename, maxSize)
}

func (x *apkReader) readFile(path, filename string, maxSize int64) (APKPackage, error) {
	f, err := os.Open(path)
	if err != nil {
		return APKPackage{}, &PackageError{File: filename, Err: fmt.Errorf("opening: %w", err)}
	}
	defer f.Close()
	return x.read(f, filename, maxSize)
}

// readAPKFiles reads packages on every CPU, each worker reusing its buffers; names are what the
// index will call them. The i-th result or error is for the i-th path.
func readAPKFiles(ctx context.Context, paths, names []string, maxSize int64) ([]APKPackage, []error) {
	return onEveryCPU(ctx, len(paths), func() func(int) (APKPackage, error) {
		var x apkReader
		return func(i int) (APKPackage, error) { return x.readFile(paths[i], names[i], maxSize) }
	})
}

func schemaName(s uint32) string {
	b := []byte{byte(s), byte(s >> 8), byte(s >> 16), byte(s >> 24)}
	return strings.ToValidUTF8(string(b), "?")
}

// The kinds of pkginfo fields, by field number.
type apkKind int

const (
	kindNone apkKind = iota
	kindText
	kindVersion
	kindBinary
	kindInt
	kindDeps
	kindTags
)

var apkInfoFields = [adb.InfoFields + 1]struct {
	name string
	kind apkKind
}{
	adb.InfoName: {"name", kindText}, adb.InfoVersion: {"version", kindVersion}, adb.InfoHashes: {"hashes", kindBinary},
	adb.InfoDescription: {"description", kindText}, adb.InfoArch: {"arch", kindText}, adb.InfoLicense: {"license", kindText},
	adb.InfoOrigin: {"origin", kindText}, adb.InfoMaintainer: {"maintainer", kindText}, adb.InfoURL: {"url", kindText},
	adb.InfoRepoCommit: {"repo-commit", kindBinary}, adb.InfoBuildTime: {"build-time", kindInt},
	adb.InfoInstalledSize: {"installed-size", kindInt}, adb.InfoFileSize: {"file-size", kindInt},
	adb.InfoProviderPriority: {"provider-priority", kindInt}, adb.InfoDepends: {"depends", kindDeps},
	adb.InfoProvides: {"provides", kindDeps}, adb.InfoReplaces: {"replaces", kindDeps},
	adb.InfoInstallIf: {"install-if", kindDeps}, adb.InfoRecommends: {"recommends", kindDeps},
	adb.InfoLayer: {"layer", kindInt}, adb.InfoTags: {"tags", kindTags},
}

// decodeAPKInfo reads and checks a pkginfo object: every field of the type its schema gives,
// text without control characters and under the limits, the name, version and architecture
// valid, every dependency well-formed. In an index entry (index true) hashes must be a 32-byte
// identity and file-size set; in a package both are ignored, as the index writes its own.
func decodeAPKInfo(db adb.DB, v adb.Val, index bool) (*APKInfo, error) {
	if !v.IsObject() {
		return nil, &MetadataError{Reason: "the package has no pkginfo object"}
	}
	o, err := db.Obj(v)
	if err != nil {
		return nil, err
	}
	if o.Len()-1 > adb.InfoFields {
		return nil, &MetadataError{Reason: fmt.Sprintf("pkginfo has %d fields; apk knows %d (is the package from a newer apk?)", o.Len()-1, adb.InfoFields)}
	}
	info := &APKInfo{}
	for i := 1; i < o.Len(); i++ {
		f := apkInfoFields[i]
		val := o.Val(i)
		fail := func(format string, a ...any) error {
			return &MetadataError{Field: f.name, Reason: fmt.Sprintf(format, a...)}
		}
		switch f.kind {
		case kindText, kindVersion:
			b, err := db.Blob(val)
			if err != nil {
				return nil, fail("%v", err)
			}
			if err := checkAPKText(b, i == adb.InfoDescription); err != nil {
				return nil, fail("%v", err)
			}
			s := string(b)
			switch i {
			case adb.InfoName:
				info.Name = s
			case adb.InfoVersion:
				info.Version = s
			case adb.InfoDescription:
				info.Description = s
			case adb.InfoArch:
				info.Arch = s
			case adb.InfoLicense:
				info.License = s
			case adb.InfoOrigin:
				info.Origin = s
			case adb.InfoMaintainer:
				info.Maintainer = s
			case adb.InfoURL:
				info.URL = s
			}
		case kindBinary:
			b, err := db.Blob(val)
			if err != nil {
				return nil, fail("%v", err)
			}
			if len(b) > 64 {
				return nil, fail("%d bytes is over the limit of 64", len(b))
			}
			if i == adb.InfoHashes && index && len(b) != 32 {
				return nil, fail("an index entry needs a 32-byte SHA-256 identity, not %d bytes", len(b))
			}
		case kindInt:
			n, err := db.Int(val)
			if err != nil {
				return nil, fail("%v", err)
			}
			switch i {
			case adb.InfoBuildTime:
				info.BuildTime = n
			case adb.InfoInstalledSize:
				info.InstalledSize = n
			case adb.InfoFileSize:
				info.FileSize = n
			case adb.InfoProviderPriority:
				info.ProviderPriority = n
			}
		case kindDeps:
			deps, err := decodeAPKDeps(db, val)
			if err != nil {
				return nil, fail("%v", err)
			}
			switch i {
			case adb.InfoDepends:
				info.Depends = deps
			case adb.InfoProvides:
				info.Provides = deps
			case adb.InfoReplaces:
				info.Replaces = deps
			case adb.InfoInstallIf:
				info.InstallIf = deps
			case adb.InfoRecommends:
				info.Recommends = deps
			}
		case kindTags:
			tags, err := db.Obj(val)
			if err != nil {
				return nil, fail("%v", err)
			}
			if tags.Elems() > maxAPKTags {
				return nil, fail("%d tags is over the limit of %d", tags.Elems(), maxAPKTags)
			}
			for j := 1; j < tags.Len(); j++ {
				b, err := tags.Blob(j)
				if err != nil {
					return nil, fail("%v", err)
				}
				if len(b) == 0 || len(b) > maxNameLen || !allBytes(b, isTagChar) {
					return nil, fail("tag %q may hold only letters, digits and \"+,-.:=/[]_\"", truncate(string(b), 40))
				}
				info.Tags = append(info.Tags, string(b))
			}
		}
	}
	if err := ValidAPKName(info.Name); err != nil {
		return nil, &MetadataError{Field: "name", Reason: err.Error()}
	}
	if err := ValidAPKVersion(info.Version); err != nil {
		return nil, &MetadataError{Field: "version", Reason: err.Error()}
	}
	if err := ValidArch(info.Arch); err != nil {
		return nil, &MetadataError{Field: "arch", Reason: err.Error()}
	}
	if index {
		if o.Val(adb.InfoFileSize) == adb.Null {
			return nil, &MetadataError{Field: "file-size", Reason: "missing in an index entry"}
		}
		if o.Val(adb.InfoHashes) == adb.Null {
			return nil, &MetadataError{Field: "hashes", Reason: "missing in an index entry"}
		}
	}
	return info, nil
}

func decodeAPKDeps(db adb.DB, v adb.Val) ([]APKDep, error) {
	arr, err := db.Obj(v)
	if err != nil {
		return nil, err
	}
	if arr.Elems() > maxAPKDeps {
		return nil, fmt.Errorf("%d entries is over the limit of %d", arr.Elems(), maxAPKDeps)
	}
	var deps []APKDep
	for j := 1; j < arr.Len(); j++ {
		d, err := arr.Obj(j)
		if err != nil {
			return nil, err
		}
		if d.Len()-1 > adb.DepMatch {
			return nil, fmt.Errorf("a dependency has %d fields; apk knows 3", d.Len()-1)
		}
		name, err := d.Blob(adb.DepName)
		if err != nil {
			return nil, err
		}
		ver, err := d.Blob(adb.DepVersion)
		if err != nil {
			return nil, err
		}
		match, err := d.Int(adb.DepMatch)
		if err != nil {
			return nil, err
		}
		dep := APKDep{Name: string(name), Version: string(ver), Match: int(match)}
		if len(name) == 0 || len(name) > maxNameLen || !allBytes(name, isDepNameChar) {
			return nil, fmt.Errorf("dependency name %q may hold only letters, digits and \"+-._,:/[]\"", truncate(dep.Name, 40))
		}
		if match > 31 {
			return nil, fmt.Errorf("dependency %s: match bits %d are unknown", dep.Name, match)
		}
		if len(ver) > 0 && int(match)&adb.MatchChecksum != adb.MatchChecksum {
			if err := ValidAPKVersion(dep.Version); err != nil {
				return nil, fmt.Errorf("dependency %s: %w", dep.Name, err)
			}
		} else if len(ver) > maxVersionLen || !allBytes(ver, isTagChar) {
			return nil, fmt.Errorf("dependency %s: checksum %q is not plain text", dep.Name, truncate(dep.Version, 40))
		}
		deps = append(deps, dep)
	}
	return deps, nil
}

// checkAPKText refuses text that is not UTF-8, holds control characters (a description may hold
// newlines and tabs) or is over the limit.
func checkAPKText(b []byte, multiline bool) error {
	if len(b) > maxAPKText {
		return fmt.Errorf("%d bytes is over the limit of %d", len(b), maxAPKText)
	}
	if !utf8.Valid(b) {
		return errors.New("not valid UTF-8")
	}
	for i, c := range b {
		if c < 0x20 && !(multiline && (c == '\n' || c == '\t')) || c == 0x7f {
			return fmt.Errorf("control character 0x%02x at byte %d", c, i+1)
		}
	}
	return nil
}

// ValidAPKName reports whether name is a package name apk accepts: letters, digits and "+-._",
// starting with a letter or digit.
func ValidAPKName(name string) error {
	if name == "" {
		return errors.New("missing package name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("package name is %d characters long, over the limit of %d", len(name), maxNameLen)
	}
	if !isAlnum(name[0]) {
		return fmt.Errorf("package name %q must start with a letter or digit", truncate(name, 40))
	}
	if i := strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isPkgNameChar(byte(r)) }); i >= 0 {
		return fmt.Errorf("package name %q holds %q; use only letters, digits and \"+-._\"", truncate(name, 40), name[i:i+1])
	}
	return nil
}

func isPkgNameChar(c byte) bool { return isAlnum(c) || c == '+' || c == '-' || c == '.' || c == '_' }
func isDepNameChar(c byte) bool { return isPkgNameChar(c) || strings.IndexByte(",:/[]", c) >= 0 }
func isTagChar(c byte) bool     { return isAlnum(c) || strings.IndexByte("+,-.:=/[]_", c) >= 0 }

func allBytes(b []byte, ok func(byte) bool) bool {
	for _, c := range b {
		if !ok(c) {
			return false
		}
	}
	return true
}

// ParseAPKDep reads one dependency as apk writes it on a command line or in `apk info`:
// [!]name[op version], op one of = < > <= >= ~ >~ <~ (and >< for a checksum).
func ParseAPKDep(s string) (APKDep, error) {
	d := APKDep{}
	rest, conflict := strings.CutPrefix(s, "!")
	i := strings.IndexAny(rest, "<>=~")
	if i < 0 {
		d.Name = rest
		if conflict {
			d.Match = adb.MatchConflict | adb.MatchAny
		}
	} else {
		d.Name = rest[:i]
		j := i
		for j < len(rest) && strings.IndexByte("<>=~", rest[j]) >= 0 {
			j++
		}
		for _, c := range rest[i:j] {
			switch c {
			case '<':
				d.Match |= adb.MatchLess
			case '>':
				d.Match |= adb.MatchGreater
			case '=':
				d.Match |= adb.MatchEqual
			case '~':
				d.Match |= adb.MatchFuzzy | adb.MatchEqual
			}
		}
		d.Version = rest[j:]
		if conflict {
			d.Match |= adb.MatchConflict
		}
		if d.Version == "" {
			return APKDep{}, fmt.Errorf("dependency %q has an operator but no version", truncate(s, 40))
		}
		if d.Match&adb.MatchChecksum != adb.MatchChecksum {
			if err := ValidAPKVersion(d.Version); err != nil {
				return APKDep{}, fmt.Errorf("dependency %q: %w", truncate(s, 40), err)
			}
		}
		if d.Match == adb.MatchEqual {
			d.Match = 0 // what apk stores for "="
		}
	}
	if d.Name == "" || len(d.Name) > maxNameLen || !allBytes([]byte(d.Name), isDepNameChar) {
		return APKDep{}, fmt.Errorf("dependency %q: the name may hold only letters, digits and \"+-._,:/[]\"", truncate(s, 40))
	}
	return d, nil
}
