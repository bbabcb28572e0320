package builder

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

// Discovery is what a repository's Makefiles offer: the folders to build and the packages
// refused with a reason the check run shows.
type Discovery struct {
	Sources []SourcePackage
	Refused []Refusal
}

// Refusal is a package (or folder) that will not be built, and why.
type Refusal struct {
	Package string
	Dir     string
	Reason  string
}

var unitNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._-]{0,99}$`)

// maxDiscoverDepth bounds how deep we look for package folders (OpenWrt feeds use 1–3 levels).
const maxDiscoverDepth = 6

// maxDiscoverWork bounds the Makefile reading of one repository (bytes read, expanded and
// assigned, as counted by readMakefile): each Makefile has its own bound, and so do they all.
const maxDiscoverWork = 64 << 20

// Discover walks fsys (a checked-out repository) for package Makefiles. Kernel modules are
// refused: they depend on a target's exact kernel and cannot live in a series feed.
func Discover(fsys fs.FS) (Discovery, error) {
	var d Discovery
	names := map[string]string{}   // package name → folder
	folders := map[string]string{} // folder name → folder
	var work int64
	err := fs.WalkDir(fsys, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != "." && (strings.HasPrefix(e.Name(), ".") || strings.Count(p, "/") >= maxDiscoverDepth) {
				return fs.SkipDir
			}
			return nil
		}
		if e.Name() != "Makefile" || !e.Type().IsRegular() {
			return nil
		}
		dir := path.Dir(p)
		if work > maxDiscoverWork {
			d.Refused = append(d.Refused, Refusal{Package: path.Base(dir), Dir: dir, Reason: fmt.Sprintf(
				"not read: the repository's Makefiles before it took more than %d MiB of work to read (the limit per repository); keep fewer or simpler Makefiles", maxDiscoverWork>>20)})
			return fs.SkipAll
		}
		data, err := readBounded(fsys, p, maxMakefileBytes)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		work += int64(len(data))
		src, ok, n, err := readMakefile(dir, data)
		work += n
		if err != nil {
			// One hostile or broken Makefile refuses its folder, not the repository.
			d.Refused = append(d.Refused, Refusal{Package: path.Base(dir), Dir: dir, Reason: err.Error()})
			return nil
		}
		if !ok {
			return nil
		}
		// make package/<folder>/compile names a folder by its last element: it must be unique
		// and harmless in a shell word.
		base := path.Base(dir)
		if dir == "." || !unitNameRe.MatchString(base) || folders[base] != "" {
			why := "the package folder name must be unique in the repository and made of letters, digits and + . _ -"
			if folders[base] != "" {
				why = "another package folder is also named " + base + " (" + folders[base] + "); the SDK names folders by their last element"
			}
			if dir == "." {
				why = "a package Makefile at the repository root cannot be a feed folder; move it into a folder named after the package"
			}
			for _, b := range src.Packages {
				d.Refused = append(d.Refused, Refusal{Package: b.Name, Dir: dir, Reason: why})
			}
			return nil
		}
		var keep []BinaryPackage
		for _, b := range src.Packages {
			switch {
			case !ValidPackageName(b.Name):
				d.Refused = append(d.Refused, Refusal{Package: b.Name, Dir: dir, Reason: "the package name is not a valid opkg name (lower case letters, digits, and + . _ -)"})
			case b.Kernel:
				d.Refused = append(d.Refused, Refusal{Package: b.Name, Dir: dir, Reason: "kernel modules (kmod-*) depend on a target's exact kernel and cannot be published in a series feed; build them with the target's image builder for now"})
			case names[b.Name] != "":
				d.Refused = append(d.Refused, Refusal{Package: b.Name, Dir: dir, Reason: "package " + b.Name + " is also defined in " + names[b.Name] + "; keep one definition"})
			default:
				names[b.Name] = dir
				keep = append(keep, b)
			}
		}
		if len(keep) > 0 {
			folders[base] = dir
			src.Packages = keep
			d.Sources = append(d.Sources, src)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.SkipAll) {
		return Discovery{}, fmt.Errorf("looking for package Makefiles: %w", err)
	}
	sort.Slice(d.Sources, func(i, j int) bool { return d.Sources[i].Dir < d.Sources[j].Dir })
	return d, nil
}

// readBounded reads at most limit+1 bytes of name: enough for ReadMakefile to refuse a file
// over limit without reading all of it.
func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// PackageNames lists every package the discovery found, sorted.
func (d Discovery) PackageNames() []string {
	var out []string
	for _, s := range d.Sources {
		for _, b := range s.Packages {
			out = append(out, b.Name)
		}
	}
	sort.Strings(out)
	return out
}
