package feeds

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// The index files of a feed folder, in the order they are switched: Packages.gz and Packages
// first, their signature right after, then the files no router verifies.
const (
	FilePackagesGz = "Packages.gz"
	FilePackages   = "Packages"
	FileSignature  = "Packages.sig"
	FileManifest   = "Packages.manifest"
	FileIndexJSON  = "index.json"
)

// DirOptions choose how IndexDir indexes a folder.
type DirOptions struct {
	// Arch is written into index.json; empty means the most common architecture of the packages
	// other than "all" ("all" when there is none).
	Arch string
	// IndexJSON is the index.json version (1 or 2; 0 means 1).
	IndexJSON int
	// Signer signs Packages into Packages.sig; nil leaves the feed unsigned and removes a stale
	// Packages.sig, which could no longer match.
	Signer Signer
	// MaxPackageSize caps one package file (DefaultMaxPackageSize when 0).
	MaxPackageSize int64
	// Sync makes the written files durable (fsync) before they replace the old ones.
	Sync bool
}

// DirResult is what IndexDir wrote and what it refused.
type DirResult struct {
	Arch    string
	Index   *Index
	Refused []*PackageError
}

// IndexDir writes the index files of dir for the .ipk files in it and its subfolders, as the
// SDK's `make package/index` does. A package that cannot be read or fails validation is refused:
// it is listed in the result and left out of the index, and the others are still indexed. The
// error is for problems with the folder itself (unreadable, unwritable, signing failed).
func IndexDir(ctx context.Context, dir string, opt DirOptions) (*DirResult, error) {
	names, refused, err := findPackages(dir)
	if err != nil {
		return nil, err
	}
	pkgs, bad, err := readPackages(ctx, dir, names, opt.MaxPackageSize)
	if err != nil {
		return nil, err
	}
	refused = append(refused, bad...)
	slices.SortFunc(refused, func(a, b *PackageError) int { return strings.Compare(a.File, b.File) })
	arch := opt.Arch
	if arch == "" {
		arch = dominantArch(pkgs)
	}
	ordered := IndexOrder(pkgs)
	entries := make([]*entry, len(ordered))
	for i, p := range ordered {
		entries[i] = newEntry(p)
	}
	ix, err := assembleIndex(ctx, IndexOptions{Arch: arch, IndexJSON: opt.IndexJSON}, entries, nil, opt.Signer)
	if err != nil {
		return nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	if err := writeIndexFiles(dir, ix, opt.Sync); err != nil {
		return nil, err
	}
	return &DirResult{Arch: arch, Index: ix, Refused: refused}, nil
}

// namedFile is a file to write into a feed folder.
type namedFile struct {
	name string
	data []byte // nil removes the file
}

// writeIndexFiles stages every index file first and renames them only when all are staged, so a
// failure leaves the old index whole. The files in before are switched ahead of the index.
func writeIndexFiles(dir string, ix *Index, sync bool, before ...namedFile) error {
	files := append(before,
		namedFile{FilePackagesGz, ix.PackagesGz},
		namedFile{FilePackages, ix.Packages},
		namedFile{FileSignature, ix.Signature},
		namedFile{FileManifest, ix.Manifest},
		namedFile{FileIndexJSON, ix.IndexJSON},
	)
	return switchFiles(dir, files, sync)
}

// switchFiles stages the files (in parallel: with sync each waits for the disk) and renames them
// into place in order.
func switchFiles(dir string, files []namedFile, durable bool) error {
	staged := make([]string, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		if f.data == nil {
			continue
		}
		wg.Go(func() { staged[i], errs[i] = stageFile(filepath.Join(dir, f.name), f.data, durable) })
	}
	wg.Wait()
	cleanup := func() {
		for _, s := range staged {
			if s != "" {
				os.Remove(s)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		cleanup()
		return err
	}
	for i, f := range files {
		dst := filepath.Join(dir, f.name)
		if staged[i] == "" {
			if err := os.Remove(dst); err != nil && !errors.Is(err, fs.ErrNotExist) {
				cleanup()
				return fmt.Errorf("removing stale %s: %w", dst, err)
			}
			continue
		}
		if err := os.Rename(staged[i], dst); err != nil {
			cleanup()
			return fmt.Errorf("replacing %s: %w", dst, err)
		}
		staged[i] = ""
	}
	if durable {
		return syncDir(dir)
	}
	return nil
}

// findPackages lists the .ipk files under dir ('/'-separated, relative), refusing symlinks: a
// feed must not index (and later serve) a file from outside itself.
func findPackages(dir string) ([]string, []*PackageError, error) {
	var names []string
	var refused []*PackageError
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("listing %s: %w", p, err)
		}
		if !strings.HasSuffix(d.Name(), ".ipk") || d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !d.Type().IsRegular() {
			refused = append(refused, &PackageError{File: rel, Err: errors.New("not a regular file (symlinks are not indexed: copy the package into the folder)")})
			return nil
		}
		names = append(names, rel)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return names, refused, nil
}

// readPackages reads the named packages in parallel.
func readPackages(ctx context.Context, dir string, names []string, maxSize int64) ([]Package, []*PackageError, error) {
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, filepath.FromSlash(n))
	}
	results, errs := readFiles(ctx, paths, names, maxSize)
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("indexing %s: %w", dir, err)
	}
	var pkgs []Package
	var refused []*PackageError
	for i, err := range errs {
		var pe *PackageError
		switch {
		case err == nil:
			pkgs = append(pkgs, results[i])
		case errors.As(err, &pe):
			refused = append(refused, pe)
		default:
			return nil, nil, err
		}
	}
	return pkgs, refused, nil
}

// readFiles reads packages on every CPU, each worker reusing its buffers; names are what the
// index will call them. The i-th result or error is for the i-th path.
func readFiles(ctx context.Context, paths, names []string, maxSize int64) ([]Package, []error) {
	return onEveryCPU(ctx, len(paths), func() func(int) (Package, error) {
		var x ipkReader
		return func(i int) (Package, error) { return x.readPackageFile(paths[i], names[i], maxSize) }
	})
}

// onEveryCPU runs n jobs on one worker per CPU; newWorker makes a worker's job function (with
// the buffers it reuses). The i-th result or error is for job i; jobs not started when ctx ends
// are left zero.
func onEveryCPU[T any](ctx context.Context, n int, newWorker func() func(int) (T, error)) ([]T, []error) {
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Go(func() {
			job := newWorker()
			for i := range next {
				out[i], errs[i] = job(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out, errs
}

// ReadPackageFile reads the package at path; filename is what the index will call it.
func ReadPackageFile(path, filename string, maxSize int64) (Package, error) {
	return new(ipkReader).readPackageFile(path, filename, maxSize)
}

func (x *ipkReader) readPackageFile(path, filename string, maxSize int64) (Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return Package{}, &PackageError{File: filename, Err: fmt.Errorf("opening: %w", err)}
	}
	defer f.Close()
	return x.readPackage(f, filename, maxSize)
}

// dominantArch is the architecture most packages have, "all" aside; ties go to the first by name.
func dominantArch(pkgs []Package) string {
	count := map[string]int{}
	for _, p := range pkgs {
		count[p.Control.Architecture]++
	}
	return mostCommonArch(count, "all")
}

// mostCommonArch is the architecture counted most often, anyArch aside (anyArch when there is no
// other); ties go to the first by name.
func mostCommonArch(count map[string]int, anyArch string) string {
	delete(count, anyArch)
	best := anyArch
	for a, n := range count {
		if n > count[best] || n == count[best] && a < best {
			best = a
		}
	}
	return best
}
