package feeds

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// The index files of an apk feed folder, in the order they are switched.
const (
	FileAPKIndex = "packages.adb"
)

// apkIndexLevel is the deflate level of packages.adb. apk writes 9; the client reads any level.
// Measured on a generated index of 2,000 packages (352 kB): level 9 takes 17 ms for 167.6 kB,
// level 2 takes 6 ms for 172.6 kB (3% more); the 32-byte hash of every entry does not compress
// at any level. Level 2 keeps a republish within its 50 ms budget.
const apkIndexLevel = 2

// APKIndex is the set of index files of one apk feed folder.
type APKIndex struct {
	ADB       []byte // the ADB block payload of packages.adb (what its signatures cover)
	File      []byte // packages.adb: compressed, signed
	IndexJSON []byte // index.json, version 2
	Entries   []PackageInfo

	entries []*apkEntry // in index order, read from ADB
}

// APKIndexOptions choose what BuildAPKIndex writes.
type APKIndexOptions struct {
	// Arch is the feed's architecture, written into index.json.
	Arch string
	// Signers each add a signature block (none leaves the index unsigned, which routers refuse
	// without --allow-untrusted).
	Signers []ADBSigner
	// Description and PkgnameSpec fill the index's optional fields; OpenWrt's SDK sets neither.
	Description, PkgnameSpec string
}

// apkEntry is one package of an apk index: the pkginfo to copy and what the feed knows of it.
type apkEntry struct {
	src adb.DB
	val adb.Val
	// fromPackage says val is a package's own info: the index replaces its hashes and
	// file-size. Otherwise val is an index entry, copied whole.
	fromPackage bool
	identity    [32]byte
	info        *APKInfo
	file        PackageInfo
}

func newAPKEntry(p APKPackage) *apkEntry {
	info := p.Info
	return &apkEntry{src: p.db, val: p.info, fromPackage: true, identity: p.Identity, info: &info,
		file: PackageInfo{Name: info.Name, Version: info.Version, Arch: info.Arch, Filename: p.Filename, Size: p.Size, SHA256: p.SHA256}}
}

// BuildAPKIndex writes packages.adb and index.json for pkgs as `apk mkndx` and the SDK's
// make-index-json.py do: the ADB block is byte for byte mkndx's when pkgs come in the order mkndx
// got its arguments (IndexDir passes them sorted by file name, as the SDK's shell glob does).
func BuildAPKIndex(ctx context.Context, pkgs []APKPackage, opt APKIndexOptions) (*APKIndex, error) {
	entries := make([]*apkEntry, len(pkgs))
	for i, p := range pkgs {
		entries[i] = newAPKEntry(p)
	}
	return assembleAPKIndex(ctx, entries, opt)
}

func assembleAPKIndex(ctx context.Context, entries []*apkEntry, opt APKIndexOptions) (*APKIndex, error) {
	if err := ValidArch(opt.Arch); err != nil {
		return nil, fmt.Errorf("feed architecture: %w", err)
	}
	payload, order, vals, err := writeAPKIndexADB(entries, opt.Description, opt.PkgnameSpec)
	if err != nil {
		return nil, err
	}
	ix := &APKIndex{ADB: payload}
	sigs := make([][]byte, len(opt.Signers))
	for i, s := range opt.Signers {
		if sigs[i], err = s.SignADB(ctx, adb.SchemaIndex, payload); err != nil {
			return nil, fmt.Errorf("signing packages.adb: %w", err)
		}
	}
	if ix.File, err = adb.Compress(adb.Encode(adb.SchemaIndex, payload, sigs...), apkIndexLevel); err != nil {
		return nil, fmt.Errorf("compressing packages.adb: %w", err)
	}
	ix.Entries = make([]PackageInfo, len(order))
	ix.entries = make([]*apkEntry, len(order))
	names := make([]string, len(order))
	for i, k := range order {
		e := entries[k]
		ix.Entries[i] = e.file
		// The next index of a feed copies the entry from this one, not from the package.
		ix.entries[i] = &apkEntry{src: payload, val: vals[i], identity: e.identity, info: e.info, file: e.file}
		names[i] = e.info.Name
		if abi := e.info.ABIVersion(); abi != "" {
			names[i], _ = cutSuffix(names[i], abi)
		}
	}
	versions := make([]string, len(order))
	for i, k := range order {
		versions[i] = entries[k].info.Version
	}
	ix.IndexJSON = indexJSON2(opt.Arch, names, versions)
	return ix, nil
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)], true
	}
	return s, false
}

// writeAPKIndexADB lays out the index's ADB block as mkndx does: for each package in turn its
// pkginfo fields copied in field order (children before parents), then file-size, then the
// identity, then the pkginfo object; then the description and pkgname-spec, the sorted packages
// array and the root object. It returns the payload and the entries' order in the index.
func writeAPKIndexADB(entries []*apkEntry, desc, spec string) ([]byte, []int, []adb.Val, error) {
	w := adb.NewWriter()
	vals := make([]adb.Val, len(entries))
	slots := make([]adb.Val, adb.InfoFields)
	for k, e := range entries {
		if !e.fromPackage {
			vals[k] = w.Copy(e.src, e.val)
			continue
		}
		o, err := e.src.Obj(e.val)
		if err != nil {
			return nil, nil, nil, err
		}
		clear(slots)
		for i := 1; i < o.Len() && i <= adb.InfoFields; i++ {
			slots[i-1] = w.Copy(e.src, o.Val(i))
		}
		slots[adb.InfoFileSize-1] = w.Int(uint64(e.file.Size))
		slots[adb.InfoHashes-1] = w.Blob(e.identity[:])
		vals[k] = w.Object(adb.TypeObject, slots)
	}
	if err := w.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("writing packages.adb: %w", err)
	}
	descVal := w.String(desc)
	specVal := w.String(spec)
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	view := w.View()
	slices.SortFunc(order, func(a, b int) int { return compareAPKObj(view, vals[a], vals[b], pkginfoOrder) })
	sorted := make([]adb.Val, len(order))
	for i, k := range order {
		sorted[i] = vals[k]
	}
	pkgs := w.Object(adb.TypeObject, sorted)
	root := w.Object(adb.TypeObject, []adb.Val{descVal, pkgs, specVal})
	payload, err := w.Payload(root)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("writing packages.adb: %w", err)
	}
	return payload, order, sorted, nil
}

// How apk compares the fields of an object when it sorts an array of them (ADB_OBJCMP_EXACT):
// field by field in number order, each by its schema's comparison.
type cmpKind int

const (
	cmpBlob cmpKind = iota
	cmpVersion
	cmpInt
	cmpDeps
	cmpBlobs
	cmpDep
)

var (
	pkginfoOrder = func(i int) cmpKind {
		switch {
		case i == adb.InfoVersion:
			return cmpVersion
		case i >= adb.InfoBuildTime && i <= adb.InfoProviderPriority || i == adb.InfoLayer:
			return cmpInt
		case i >= adb.InfoDepends && i <= adb.InfoRecommends:
			return cmpDeps
		case i == adb.InfoTags:
			return cmpBlobs
		}
		return cmpBlob
	}
	depOrder = func(i int) cmpKind {
		switch i {
		case adb.DepVersion:
			return cmpVersion
		case adb.DepMatch:
			return cmpInt
		}
		return cmpBlob
	}
	depsOrder  = func(int) cmpKind { return cmpDep }
	blobsOrder = func(int) cmpKind { return cmpBlob }
)

func compareAPKObj(db adb.DB, a, b adb.Val, kind func(int) cmpKind) int {
	oa, _ := db.Obj(a)
	ob, _ := db.Obj(b)
	for i := 1; i < max(oa.Len(), ob.Len()); i++ {
		if r := compareAPKVal(db, oa.Val(i), ob.Val(i), kind(i)); r != 0 {
			return r
		}
	}
	return 0
}

func compareAPKVal(db adb.DB, a, b adb.Val, k cmpKind) int {
	switch k {
	case cmpInt:
		x, _ := db.Int(a)
		y, _ := db.Int(b)
		return cmp.Compare(x, y)
	case cmpVersion:
		if a == adb.Null || b == adb.Null {
			return 0 // apk: a missing version matches any
		}
		x, _ := db.Blob(a)
		y, _ := db.Blob(b)
		return CompareAPKVersions(string(x), string(y))
	case cmpDeps:
		return compareAPKObj(db, a, b, depsOrder)
	case cmpDep:
		return compareAPKObj(db, a, b, depOrder)
	case cmpBlobs:
		return compareAPKObj(db, a, b, blobsOrder)
	}
	x, _ := db.Blob(a)
	y, _ := db.Blob(b)
	return bytes.Compare(x, y)
}

// APKIndexEntry is one package of a packages.adb, decoded.
type APKIndexEntry struct {
	Info     APKInfo
	Identity [32]byte // SHA-256 of the package's ADB block: a download must match it
}

// ReadAPKIndex reads a packages.adb (signatures are not checked: see apksign) and checks every
// entry as ReadAPK checks a package.
func ReadAPKIndex(r io.Reader) (*adb.File, []APKIndexEntry, error) {
	f, entries, err := readAPKIndex(r)
	if err != nil {
		return nil, nil, err
	}
	out := make([]APKIndexEntry, len(entries))
	for i, e := range entries {
		out[i] = APKIndexEntry{Info: *e.info, Identity: e.identity}
	}
	return f, out, nil
}

func readAPKIndex(r io.Reader) (*adb.File, []*apkEntry, error) {
	f, err := adb.ReadFile(r, adb.Limits{MaxADB: adb.MaxPayload})
	if err != nil {
		return nil, nil, err
	}
	if f.Schema != adb.SchemaIndex {
		return nil, nil, fmt.Errorf("%w: its schema is %q, not \"indx\"", adb.ErrNotADB, schemaName(f.Schema))
	}
	db := adb.DB(f.ADB)
	root, err := db.Obj(db.Root())
	if err != nil {
		return nil, nil, err
	}
	pkgs, err := root.Obj(adb.IndexPackages)
	if err != nil {
		return nil, nil, err
	}
	entries := make([]*apkEntry, 0, pkgs.Elems())
	for i := 1; i < pkgs.Len(); i++ {
		v := pkgs.Val(i)
		info, err := decodeAPKInfo(db, v, true)
		if err != nil {
			return nil, nil, fmt.Errorf("index entry %d: %w", i, err)
		}
		o, _ := db.Obj(v)
		h, _ := o.Blob(adb.InfoHashes)
		e := &apkEntry{src: db, val: v, info: info}
		copy(e.identity[:], h)
		e.file = PackageInfo{Name: info.Name, Version: info.Version, Arch: info.Arch, Filename: apkFileName(info.Name, info.Version), Size: int64(info.FileSize)}
		entries = append(entries, e)
	}
	return f, entries, nil
}

// apkFileName is the file a router fetches for a package: apk's default pkgname-spec,
// ${name}-${version}.apk.
func apkFileName(name, version string) string { return name + "-" + version + ".apk" }
