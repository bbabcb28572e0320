package feeds

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// APKDirOptions choose how IndexAPKDir indexes a folder.
type APKDirOptions struct {
	// Arch is written into index.json; empty means the most common architecture of the packages
	// other than "noarch" ("noarch" when there is none).
	Arch string
	// Signer signs packages.adb; nil leaves it unsigned (routers then refuse it unless told
	// --allow-untrusted).
	Signer ADBSigner
	// MaxPackageSize caps one package file (DefaultMaxPackageSize when 0).
	MaxPackageSize int64
	// Sync makes the written files durable (fsync) before they replace the old ones.
	Sync bool
}

// APKDirResult is what IndexAPKDir wrote and what it refused.
type APKDirResult struct {
	Arch    string
	Index   *APKIndex
	Refused []*PackageError
}

// IndexAPKDir writes packages.adb and index.json for the .apk files in dir, as the SDK's
// `make package/index` does with apk mkndx (the packages in file name order, as its shell glob
// gives them). A package is refused, listed in the result and left out, when it cannot be read
// or fails validation, when it is for another architecture, when it sits in a subfolder, or when
// its file name is not the ${name}-${version}.apk a router asks for (the index does not hold
// file names). The error is for problems with the folder itself.
func IndexAPKDir(ctx context.Context, dir string, opt APKDirOptions) (*APKDirResult, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var refused []*PackageError
	var names []string
	for _, de := range des {
		name := de.Name()
		switch {
		case de.IsDir():
			if hasAPK(filepath.Join(dir, name)) {
				refused = append(refused, &PackageError{File: name + "/", Err: errors.New("holds .apk files, but routers fetch packages from the folder of packages.adb: move them up")})
			}
		case !strings.HasSuffix(name, ".apk") || strings.HasPrefix(name, "."):
		case !de.Type().IsRegular():
			refused = append(refused, &PackageError{File: name, Err: errors.New("not a regular file (symlinks are not indexed: copy the package into the folder)")})
		default:
			names = append(names, name)
		}
	}
	slices.Sort(names)
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
	}
	read, errs := readAPKFiles(ctx, paths, names, opt.MaxPackageSize)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	var pkgs []APKPackage
	for i, name := range names {
		p, err := read[i], errs[i]
		var pe *PackageError
		switch {
		case errors.As(err, &pe):
			refused = append(refused, pe)
			continue
		case err != nil:
			return nil, err
		}
		if want := apkFileName(p.Info.Name, p.Info.Version); name != want {
			refused = append(refused, &PackageError{File: name, Err: fmt.Errorf("a router asks for %s (apk's ${name}-${version}.apk); rename the file", want)})
			continue
		}
		pkgs = append(pkgs, p)
	}
	arch := opt.Arch
	if arch == "" {
		count := map[string]int{}
		for _, p := range pkgs {
			count[p.Info.Arch]++
		}
		arch = mostCommonArch(count, "noarch")
	}
	pkgs = slices.DeleteFunc(pkgs, func(p APKPackage) bool {
		if p.Info.Arch != arch && p.Info.Arch != "noarch" {
			refused = append(refused, &PackageError{File: p.Filename, Err: fmt.Errorf("built for %s, but the feed is for %s", p.Info.Arch, arch)})
			return true
		}
		return false
	})
	slices.SortFunc(refused, func(a, b *PackageError) int { return strings.Compare(a.File, b.File) })
	var signers []ADBSigner
	if opt.Signer != nil {
		signers = append(signers, opt.Signer)
	}
	ix, err := BuildAPKIndex(ctx, pkgs, APKIndexOptions{Arch: arch, Signers: signers})
	if err != nil {
		return nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	if err := switchFiles(dir, []namedFile{{FileAPKIndex, ix.File}, {FileIndexJSON, ix.IndexJSON}}, opt.Sync); err != nil {
		return nil, err
	}
	return &APKDirResult{Arch: arch, Index: ix, Refused: refused}, nil
}

func hasAPK(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(d.Name(), ".apk") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
