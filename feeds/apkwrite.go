package feeds

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// APKSpec describes an .apk package for WriteAPK: its pkginfo (Info's FileSize, InstalledSize
// and ABIVersion-less fields are as given; InstalledSize is computed when 0), its files and its
// scripts.
type APKSpec struct {
	Info    APKInfo
	Files   []APKFile
	Scripts map[string]string // by apk's name: "post-install", "pre-deinstall", …
	Mtime   int64             // of every file (Unix seconds); a fixed time keeps the bytes reproducible
}

// APKFile is one file of a package: a regular file, or a symlink when Link is set.
type APKFile struct {
	Path string // relative, '/'-separated: "usr/bin/hello"
	Data []byte
	Mode uint32 // permission bits; 0644 when 0 (0777 for a symlink)
	Link string
}

var apkScriptSlots = map[string]int{
	"trigger": adb.ScriptTrigger, "pre-install": adb.ScriptPreInstall, "post-install": adb.ScriptPostInstall,
	"pre-deinstall": adb.ScriptPreDeinstall, "post-deinstall": adb.ScriptPostDeinstall,
	"pre-upgrade": adb.ScriptPreUpgrade, "post-upgrade": adb.ScriptPostUpgrade,
}

// WriteAPK writes an .apk v3 package as `apk mkpkg` lays it out: the ADB block (pkginfo with a
// 20-byte unique id, the directories and files sorted by name, the scripts), one signature block
// per signer, then one DATA block per non-empty regular file, all deflate-compressed ("ADBd").
// It checks the spec as ReadAPK checks a package, so what it writes reads back.
func WriteAPK(ctx context.Context, out io.Writer, spec APKSpec, signers ...ADBSigner) error {
	payload, data, err := apkPayload(spec)
	if err != nil {
		return err
	}
	container := adb.AppendHeader(nil, adb.SchemaPackage)
	container = adb.AppendBlock(container, adb.BlockADB, payload)
	for _, s := range signers {
		sig, err := s.SignADB(ctx, adb.SchemaPackage, payload)
		if err != nil {
			return fmt.Errorf("signing the package: %w", err)
		}
		container = adb.AppendBlock(container, adb.BlockSig, sig)
	}
	for _, d := range data {
		container = adb.AppendBlock(container, adb.BlockData, d)
	}
	zw, err := adb.CompressWriter(out, 9)
	if err != nil {
		return err
	}
	if _, err := zw.Write(container); err != nil {
		return err
	}
	return zw.Close()
}

type apkDir struct {
	name  string
	files []APKFile
}

func apkPayload(spec APKSpec) ([]byte, [][]byte, error) {
	info := spec.Info
	if err := ValidAPKName(info.Name); err != nil {
		return nil, nil, err
	}
	if err := ValidAPKVersion(info.Version); err != nil {
		return nil, nil, err
	}
	if info.Arch == "" {
		info.Arch = "noarch"
	}
	if err := ValidArch(info.Arch); err != nil {
		return nil, nil, err
	}
	dirs, installed, err := apkDirs(spec.Files)
	if err != nil {
		return nil, nil, err
	}
	if info.InstalledSize == 0 {
		info.InstalledSize = installed
		if info.InstalledSize == 0 && (len(spec.Files) > 0 || len(spec.Scripts) > 0) {
			info.InstalledSize = 1 // 0 would mark a meta package the client need not download
		}
	}
	w := adb.NewWriter()
	slots := make([]adb.Val, adb.InfoFields)
	texts := []struct {
		i int
		s string
	}{{adb.InfoName, info.Name}, {adb.InfoVersion, info.Version}, {adb.InfoDescription, info.Description}, {adb.InfoArch, info.Arch},
		{adb.InfoLicense, info.License}, {adb.InfoOrigin, info.Origin}, {adb.InfoMaintainer, info.Maintainer}, {adb.InfoURL, info.URL}}
	for _, t := range texts {
		i, s := t.i, t.s
		if err := checkAPKText([]byte(s), i == adb.InfoDescription); err != nil {
			return nil, nil, &MetadataError{Field: apkInfoFields[i].name, Reason: err.Error()}
		}
		slots[i-1] = w.String(s)
	}
	if info.BuildTime != 0 {
		slots[adb.InfoBuildTime-1] = w.Int(info.BuildTime)
	}
	slots[adb.InfoInstalledSize-1] = w.Int(info.InstalledSize)
	if info.ProviderPriority != 0 {
		slots[adb.InfoProviderPriority-1] = w.Int(info.ProviderPriority)
	}
	for i, deps := range [][]APKDep{info.Depends, info.Provides, info.Replaces, info.InstallIf, info.Recommends} {
		i += adb.InfoDepends
		if slots[i-1], err = writeAPKDeps(w, deps); err != nil {
			return nil, nil, &MetadataError{Field: apkInfoFields[i].name, Reason: err.Error()}
		}
	}
	var tags []adb.Val
	for _, t := range info.Tags {
		if t == "" || len(t) > maxNameLen || !allBytes([]byte(t), isTagChar) {
			return nil, nil, &MetadataError{Field: "tags", Reason: fmt.Sprintf("tag %q may hold only letters, digits and \"+,-.:=/[]_\"", t)}
		}
		tags = append(tags, w.String(t))
	}
	slots[adb.InfoTags-1] = w.Object(adb.TypeObject, tags)
	// The unique id is written without de-duplication and filled in last: SHA-256 of the payload
	// with it zeroed, cut to 20 bytes, as mkpkg does.
	uid := w.BlobUnshared(make([]byte, 20))
	slots[adb.InfoHashes-1] = uid
	infoVal := w.Object(adb.TypeObject, slots)

	var dirVals []adb.Val
	var data [][]byte
	for di, d := range dirs {
		var fileVals []adb.Val
		for fi, f := range d.files {
			mode := f.Mode
			fslots := make([]adb.Val, adb.FileTarget)
			fslots[adb.FileName-1] = w.String(path.Base(f.Path))
			if f.Link != "" {
				if mode == 0 {
					mode = 0o777
				}
				target := binary.LittleEndian.AppendUint16(nil, 0o120000)
				fslots[adb.FileTarget-1] = w.Blob(append(target, f.Link...))
			} else {
				if mode == 0 {
					mode = 0o644
				}
				sum := sha256.Sum256(f.Data)
				fslots[adb.FileHash-1] = w.Blob(sum[:])
				fslots[adb.FileSize-1] = w.Int(uint64(len(f.Data)))
				if len(f.Data) > 0 {
					d := binary.LittleEndian.AppendUint32(nil, uint32(di+1))
					d = binary.LittleEndian.AppendUint32(d, uint32(fi+1))
					data = append(data, append(d, f.Data...))
				}
			}
			fslots[adb.FileMtime-1] = w.Int(uint64(spec.Mtime))
			fslots[adb.FileACL-1] = writeACL(w, mode&0o7777)
			fileVals = append(fileVals, w.Object(adb.TypeObject, fslots))
		}
		dslots := []adb.Val{w.String(d.name), writeACL(w, 0o755), w.Object(adb.TypeObject, fileVals)}
		dirVals = append(dirVals, w.Object(adb.TypeObject, dslots))
	}
	rootSlots := []adb.Val{infoVal, w.Object(adb.TypeObject, dirVals), adb.Null}
	if len(spec.Scripts) > 0 {
		sslots := make([]adb.Val, adb.ScriptPostUpgrade)
		for _, name := range slices.Sorted(maps.Keys(spec.Scripts)) {
			text := spec.Scripts[name]
			i, ok := apkScriptSlots[name]
			if !ok {
				return nil, nil, fmt.Errorf("unknown script %q (apk has trigger, pre-install, post-install, pre-deinstall, post-deinstall, pre-upgrade, post-upgrade)", name)
			}
			sslots[i-1] = w.String(text)
		}
		rootSlots[adb.PackageScripts-1] = w.Object(adb.TypeObject, sslots)
	}
	payload, err := w.Payload(w.Object(adb.TypeObject, rootSlots))
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(payload)
	copy(payload[uid.Value()+1:uid.Value()+21], sum[:20])
	return payload, data, nil
}

func writeACL(w *adb.Writer, mode uint32) adb.Val {
	return w.Object(adb.TypeObject, []adb.Val{w.Int(uint64(mode)), w.String("root"), w.String("root")})
}

// writeAPKDeps writes a dependency array sorted and de-duplicated, as apk does.
func writeAPKDeps(w *adb.Writer, deps []APKDep) (adb.Val, error) {
	vals := make([]adb.Val, 0, len(deps))
	for _, d := range deps {
		if d.Name == "" || len(d.Name) > maxNameLen || !allBytes([]byte(d.Name), isDepNameChar) {
			return adb.Null, fmt.Errorf("dependency name %q may hold only letters, digits and \"+-._,:/[]\"", d.Name)
		}
		if d.Version != "" && d.Match&adb.MatchChecksum != adb.MatchChecksum {
			if err := ValidAPKVersion(d.Version); err != nil {
				return adb.Null, fmt.Errorf("dependency %s: %w", d.Name, err)
			}
		}
		slots := []adb.Val{w.String(d.Name), adb.Null, adb.Null}
		match := d.Match
		if d.Version == "" {
			if match&adb.MatchConflict != 0 {
				slots[2] = w.Int(uint64(adb.MatchConflict | adb.MatchAny))
			}
		} else {
			slots[1] = w.String(d.Version)
			if match != 0 && match != adb.MatchEqual {
				slots[2] = w.Int(uint64(match))
			}
		}
		vals = append(vals, w.Object(adb.TypeObject, slots))
	}
	view := w.View()
	slices.SortFunc(vals, func(a, b adb.Val) int { return compareAPKObj(view, a, b, depOrder) })
	vals = slices.Compact(vals)
	return w.Object(adb.TypeObject, vals), nil
}

// apkDirs groups files by directory: the root and every ancestor of a file's folder, sorted by
// name, each with its files sorted by name.
func apkDirs(files []APKFile) ([]apkDir, uint64, error) {
	byDir := map[string][]APKFile{"": nil}
	seen := map[string]bool{}
	var installed uint64
	for _, f := range files {
		p := f.Path
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." {
			return nil, 0, fmt.Errorf("file path %q must be relative and clean (\"usr/bin/x\")", p)
		}
		if seen[p] {
			return nil, 0, fmt.Errorf("file %s is given twice", p)
		}
		seen[p] = true
		dir := path.Dir(p)
		if dir == "." {
			dir = ""
		}
		byDir[dir] = append(byDir[dir], f)
		for d := dir; d != ""; d = parentDir(d) {
			if _, ok := byDir[d]; !ok {
				byDir[d] = nil
			}
		}
		if f.Link == "" {
			installed += uint64(len(f.Data))
		}
	}
	dirs := make([]apkDir, 0, len(byDir))
	for name, fs := range byDir {
		if seen[name] {
			return nil, 0, fmt.Errorf("%s is both a file and a folder", name)
		}
		slices.SortFunc(fs, func(a, b APKFile) int { return strings.Compare(path.Base(a.Path), path.Base(b.Path)) })
		dirs = append(dirs, apkDir{name: name, files: fs})
	}
	slices.SortFunc(dirs, func(a, b apkDir) int { return strings.Compare(a.name, b.name) })
	return dirs, installed, nil
}

func parentDir(d string) string {
	if p := path.Dir(d); p != "." {
		return p
	}
	return ""
}

// APKFilesFromDir collects the files below root for an APKSpec, as `apk mkpkg --files root`
// does: regular files with their permission bits, and symlinks (their targets as they are).
func APKFilesFromDir(root string) ([]APKFile, error) {
	var out []APKFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f := APKFile{Path: filepath.ToSlash(rel), Mode: uint32(fi.Mode().Perm())}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if f.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s is neither a file nor a symlink; packages hold only those", rel)
		}
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collecting the package's files: %w", err)
	}
	return out, nil
}
