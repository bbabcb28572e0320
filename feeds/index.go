package feeds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Index is the set of index files of one feed folder, as `make package/index` writes them.
type Index struct {
	Manifest   []byte // Packages.manifest
	Packages   []byte // Packages
	PackagesGz []byte // Packages.gz
	IndexJSON  []byte // index.json
	Signature  []byte // Packages.sig, when the index was signed
	// Entries are the packages listed, in index order (kernel and libc left out).
	Entries []Package
}

// IndexOptions choose what BuildIndex writes.
type IndexOptions struct {
	// Arch is the feed's architecture, written into index.json.
	Arch string
	// IndexJSON is the index.json version: 1 (the 23.05 SDK, the default) or 2 (24.10 SDKs since
	// mid-2025: indented, names without their ABI suffix).
	IndexJSON int
}

// The lines `make package/index` drops from Packages.manifest to make Packages. The SDK matches
// them as prefixes of whole lines (grep -vE '^(…)'), so "Require-User" goes too.
var packagesDropPrefixes = [][]byte{
	[]byte("Maintainer"), []byte("LicenseFiles"), []byte("Source"), []byte("SourceName"),
	[]byte("Require"), []byte("SourceDateEpoch"),
}

// BuildIndex writes the index files for pkgs. Package order, the packages left out and every byte
// follow the SDK: files sorted bytewise by path, those whose base name starts "kernel_" or "libc_"
// skipped, Filename/Size/SHA256sum inserted before Description.
func BuildIndex(pkgs []Package, opt IndexOptions) (*Index, error) {
	if err := ValidArch(opt.Arch); err != nil {
		return nil, fmt.Errorf("feed architecture: %w", err)
	}
	ordered := IndexOrder(pkgs)
	entries := make([]*entry, len(ordered))
	for i, p := range ordered {
		entries[i] = newEntry(p)
	}
	return assembleIndex(context.Background(), opt, entries, nil, nil)
}

// entry is a package with its stanzas rendered once, so that a feed's index can be rebuilt by
// concatenation.
type entry struct {
	pkg      Package
	id       [32]byte // identifies the stanza bytes: hash of Filename and the file's SHA256
	manifest []byte
	packages []byte
}

func newEntry(p Package) *entry {
	m := ManifestStanza(p)
	return &entry{pkg: p, id: sha256.Sum256([]byte(p.Filename + "\x00" + p.SHA256)), manifest: m, packages: PackagesStanza(m)}
}

// assembleIndex writes the index files of entries, which are in index order, and signs Packages
// with signer (when not nil) while it compresses.
func assembleIndex(ctx context.Context, opt IndexOptions, entries []*entry, cache *gzCache, signer Signer) (*Index, error) {
	if err := ValidArch(opt.Arch); err != nil {
		return nil, fmt.Errorf("feed architecture: %w", err)
	}
	ix := &Index{Entries: make([]Package, len(entries))}
	mlen, plen := 0, 0
	for i, e := range entries {
		ix.Entries[i] = e.pkg
		mlen += len(e.manifest)
		plen += len(e.packages)
	}
	manifest := make([]byte, 0, mlen+1)
	packages := make([]byte, 0, plen+3)
	stanzas := make([]gzStanza, len(entries))
	for i, e := range entries {
		manifest = append(manifest, e.manifest...)
		packages = append(packages, e.packages...)
		stanzas[i] = gzStanza{id: e.id, text: e.packages}
	}
	if len(entries) == 0 {
		// ipkg-make-index.sh prints one empty line for a folder without packages.
		manifest = append(manifest, '\n')
		packages = append(packages, '\n')
	}
	ix.Manifest = manifest
	ix.Packages = PadPackages(packages)
	// Signing hashes Packages twice (Ed25519); do it beside the compression.
	var sigErr error
	signed := make(chan struct{})
	if signer != nil {
		go func() {
			defer close(signed)
			ix.Signature, sigErr = signer.Sign(ctx, ix.Packages)
		}()
	} else {
		close(signed)
	}
	ix.PackagesGz = gzipStanzas(stanzas, ix.Packages[plen:], cache)
	js, err := IndexJSON(opt.Arch, ix.Entries, opt.IndexJSON)
	<-signed
	if err != nil {
		return nil, err
	}
	if sigErr != nil {
		return nil, fmt.Errorf("signing Packages: %w", sigErr)
	}
	ix.IndexJSON = js
	return ix, nil
}

// IndexOrder returns the packages an index lists, in its order: sorted bytewise by Filename (as
// `find | LC_ALL=C sort`), without the packages named kernel and libc.
func IndexOrder(pkgs []Package) []Package {
	out := make([]Package, 0, len(pkgs))
	for _, p := range pkgs {
		base := path.Base(p.Filename)
		name, _, _ := strings.Cut(base, "_")
		if name == "kernel" || name == "libc" {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Package) int { return strings.Compare(a.Filename, b.Filename) })
	return out
}

// ManifestStanza is p's stanza in Packages.manifest, blank line included: its control text with
// Filename, Size and SHA256sum inserted before Description (appended when there is no Description,
// where the SDK would leave them out and make the package uninstallable).
func ManifestStanza(p Package) []byte {
	text := p.Control.Text()
	extra := "Filename: " + p.Filename + "\nSize: " + strconv.FormatInt(p.Size, 10) + "\nSHA256sum: " + p.SHA256 + "\n"
	out := make([]byte, 0, len(text)+len(extra)+1)
	at := descriptionOffset(text)
	out = append(out, text[:at]...)
	out = append(out, extra...)
	out = append(out, text[at:]...)
	return append(out, '\n')
}

func descriptionOffset(text []byte) int {
	for off := 0; off < len(text); {
		if bytes.HasPrefix(text[off:], []byte("Description:")) {
			return off
		}
		nl := bytes.IndexByte(text[off:], '\n')
		if nl < 0 {
			break
		}
		off += nl + 1
	}
	return len(text)
}

// PackagesStanza filters a manifest stanza into its Packages form.
func PackagesStanza(manifest []byte) []byte {
	out := make([]byte, 0, len(manifest))
	for rest := manifest; len(rest) > 0; {
		line := rest
		if nl := bytes.IndexByte(rest, '\n'); nl >= 0 {
			line, rest = rest[:nl+1], rest[nl+1:]
		} else {
			rest = nil
		}
		if !dropFromPackages(line) {
			out = append(out, line...)
		}
	}
	return out
}

func dropFromPackages(line []byte) bool {
	for _, p := range packagesDropPrefixes {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// PadPackages appends two newlines when (64 + len) % 128 is 110 or 111: old usign computes a
// wrong SHA-512 for those lengths, and the SDK pads around the bug. It may return packages itself.
func PadPackages(packages []byte) []byte {
	if m := (64 + len(packages)) % 128; m == 110 || m == 111 {
		return append(packages, '\n', '\n')
	}
	return packages
}

// IndexJSON writes index.json for the packages (already in index order).
//
// Version 1 is the 23.05 SDK's one-line form, every package as listed (a name listed twice
// appears twice, as the SDK writes it). Version 2 is Python's json.dumps(indent=2) of
// {"version": 2, "architecture", "packages"}, names without their ABIVersion suffix, a repeated
// name keeping its first position and last version.
func IndexJSON(arch string, entries []Package, version int) ([]byte, error) {
	var b bytes.Buffer
	switch version {
	case 0, 1:
		b.WriteString(`{"architecture": "` + arch + `", "packages":{`)
		for i, p := range entries {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`"` + p.Control.Package + `": "` + p.Control.Version + `"`)
		}
		b.WriteString("}}\n")
	case 2:
		names := make([]string, len(entries))
		versions := make([]string, len(entries))
		for i, p := range entries {
			names[i], versions[i] = p.Control.Package, p.Control.Version
			if abi := p.Control.Get("ABIVersion"); abi != "" {
				names[i] = strings.TrimSuffix(names[i], abi)
			}
		}
		return indexJSON2(arch, names, versions), nil
	default:
		return nil, fmt.Errorf("index.json version %d is unknown; use 1 (23.05 SDK) or 2 (24.10 SDK)", version)
	}
	return b.Bytes(), nil
}

// indexJSON2 is Python's json.dumps(indent=2) of {"version": 2, "architecture", "packages"} as the
// SDK's make-index-json.py writes it: a name listed twice keeps its first position and its last
// version.
func indexJSON2(arch string, names, versions []string) []byte {
	type kv struct{ name, version string }
	var list []kv
	at := map[string]int{}
	for i, name := range names {
		if k, ok := at[name]; ok {
			list[k].version = versions[i]
			continue
		}
		at[name] = len(list)
		list = append(list, kv{name, versions[i]})
	}
	var b bytes.Buffer
	b.WriteString("{\n  \"version\": 2,\n  \"architecture\": \"" + arch + "\",\n  \"packages\": {")
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    \"" + e.name + "\": \"" + e.version + "\"")
	}
	if len(list) > 0 {
		b.WriteString("\n  ")
	}
	b.WriteString("}\n}\n")
	return b.Bytes()
}
