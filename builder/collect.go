package builder

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// logFileBytes caps one collected per-step log file; the end of the file is kept.
const logFileBytes = 4 << 20

// streamSlack allows for tar headers and files that are read only to be refused.
const streamSlack = 64 << 20

var (
	pkgFileRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._~-]{0,200}\.(ipk|apk)$`)
	stepRe    = regexp.MustCompile(`^[a-z]{1,20}$`)
	variantRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$`)
)

// Collector writes what it accepts from a build's output archives (tar streams) into a folder:
// dir/packages/<file>.ipk (.apk for an apk series), dir/logs/<unit>/<step>.txt and dir/logs/results.txt. The archives come
// from the build, so every entry is checked: only regular files with expected names and sizes are
// written, with O_EXCL|O_NOFOLLOW; symlinks, links, devices, odd names, duplicates and oversize
// files are refused and listed. Executors feed it the archives of the SDK's
// bin/packages/<arch>/<feed> (entries "<feed>/…") and logs (entries "logs/…"), as Docker's
// archive API and `tar -C <parent> <base>` make them.
type Collector struct {
	dir    string
	feed   string
	units  map[string]bool
	wanted map[string]bool // the job's package names
	names  []string
	ext    string // the package files the job's SDK makes: ".ipk", or ".apk" for an apk series
	arch   string
	limits Limits
	budget int64
	col    Collected
	cur    *capReader // of the archive being read
}

// NewCollector returns a collector into dir for the job of spec, within spec.Limits.
func NewCollector(dir string, spec JobSpec) *Collector {
	l := spec.Limits.WithDefaults()
	feed := spec.FeedName
	if feed == "" {
		feed = DefaultFeedName
	}
	units, wanted := map[string]bool{}, map[string]bool{}
	for _, u := range spec.Job.Units {
		units[u.Name] = true
		for _, p := range u.Packages {
			wanted[p] = true
		}
	}
	ext := ".ipk"
	if spec.Job.Format == FormatAPK {
		ext = ".apk"
	}
	return &Collector{dir: dir, feed: feed, units: units, wanted: wanted, names: slices.Sorted(maps.Keys(wanted)), ext: ext, arch: spec.Job.Arch,
		limits: l, budget: l.OutputBytes, col: Collected{Logs: map[string]string{}}}
}

// Collected is what was accepted and refused so far.
func (c *Collector) Collected() Collected { return c.col }

func (c *Collector) refuse(format string, args ...any) {
	c.col.Refused = append(c.col.Refused, fmt.Sprintf(format, args...))
}

// Packages reads the archive of bin/packages/<arch>/<feed>: entries "<feed>/<file>". The error
// is for failures to write; a bad archive is a refusal.
func (c *Collector) Packages(r io.Reader) error {
	return c.each(r, "package files", c.limits.OutputBytes+streamSlack, func(name string, h *tar.Header, tr io.Reader) error {
		rel, ok := strings.CutPrefix(name, c.feed+"/")
		if !ok || rel == "" || h.Typeflag == tar.TypeDir && !strings.Contains(rel, "/") {
			return nil
		}
		if h.Typeflag == tar.TypeReg && strings.Contains(rel, "/") {
			c.refuse("%s: not a package file name, not collected", rel)
			return nil
		}
		return c.addPackage(rel, h, tr)
	})
}

// addPackage writes one package file of a checked name, within the size limits.
func (c *Collector) addPackage(file string, h *tar.Header, tr io.Reader) error {
	switch {
	case h.Typeflag != tar.TypeReg:
		c.refuse("%s: not a regular file (%s), not collected", file, describe(h))
	case !pkgFileRe.MatchString(file):
		c.refuse("%s: not a package file name, not collected", file)
	case !strings.HasSuffix(file, c.ext):
		c.refuse("%s: this series' SDK makes %s packages, not collected", file, c.ext)
	case h.Size > c.limits.FileBytes:
		c.refuse("%s: %d bytes is more than the %d bytes a package may have", file, h.Size, c.limits.FileBytes)
	case h.Size > c.budget:
		c.refuse("%s: the outputs exceed %d bytes in all; not collected", file, c.limits.OutputBytes)
	default:
		ok, err := c.write(filepath.Join(c.dir, "packages"), file, tr, h.Size, h.Size)
		if ok {
			c.budget -= h.Size
			c.col.Packages = append(c.col.Packages, "packages/"+file)
		}
		return err
	}
	return nil
}

// TargetPackages reads the archive of bin/targets (entries "targets/<target>/<subtarget>/packages/<file>"),
// where the SDK puts the packages of a nonshared package (PKG_FLAGS:=nonshared). The folder is the
// target's, shared with whatever else the SDK built, so only files of the job's packages are taken.
func (c *Collector) TargetPackages(r io.Reader) error {
	return c.each(r, "target package files", c.limits.OutputBytes+streamSlack, func(name string, h *tar.Header, tr io.Reader) error {
		parts := strings.Split(name, "/")
		if len(parts) != 5 || parts[0] != "targets" || parts[3] != "packages" || h.Typeflag == tar.TypeDir {
			return nil
		}
		file := parts[4]
		if !c.wanted[packageName(file, c.arch, c.names)] {
			return nil
		}
		return c.addPackage(file, h, tr)
	})
}

// Logs reads the archive of logs/: the driver's results and logs/package/feeds/<feed>/<unit>/<step>.txt.
func (c *Collector) Logs(r io.Reader) error {
	return c.each(r, "logs", 4*c.limits.LogBytes+streamSlack, func(name string, h *tar.Header, tr io.Reader) error {
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		if name == "logs/openwrt-ppa-results.txt" {
			ok, err := c.write(filepath.Join(c.dir, "logs"), "results.txt", tr, h.Size, 1<<20)
			if ok {
				c.col.Results = "logs/results.txt"
			}
			return err
		}
		// logs/package/feeds/<feed>/<unit>/<step>.txt, and …/<unit>/<variant>/<step>.txt for a
		// package with build variants (subdir.mk logs each variant's build apart).
		parts := strings.Split(name, "/")
		if len(parts) < 6 || len(parts) > 7 || parts[0] != "logs" || parts[1] != "package" || parts[2] != "feeds" || parts[3] != c.feed || !c.units[parts[4]] {
			return nil
		}
		step, ok := strings.CutSuffix(parts[len(parts)-1], ".txt")
		if !ok || !stepRe.MatchString(step) {
			return nil
		}
		key := parts[4]
		if len(parts) == 7 {
			if !variantRe.MatchString(parts[5]) {
				return nil
			}
			key += "/" + parts[5]
		}
		ok, err := c.write(filepath.Join(c.dir, "logs", filepath.FromSlash(key)), step+".txt", tr, h.Size, logFileBytes)
		if ok {
			c.col.Logs[key+"/"+step] = "logs/" + key + "/" + step + ".txt"
		}
		return err
	})
}

// errStreamCap stops reading an output archive that is larger than anything we would keep.
var errStreamCap = errors.New("output archive too large")

type capReader struct {
	r    io.Reader
	left int64
	read int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, errStreamCap
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.read += int64(n)
	return n, err
}

// errSparse refuses tar entries that yield more bytes than the archive holds (sparse files):
// Docker never makes them, and they would let a small archive fill our disk up to the caps.
var errSparse = errors.New("a sparse file")

// denseReader reads an entry's data and fails when it yields more than was read from the archive.
type denseReader struct {
	r     io.Reader
	cr    *capReader
	start int64
	out   int64
}

func (d *denseReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.out += int64(n)
	if d.out > d.cr.read-d.start {
		return n, errSparse
	}
	return n, err
}

// each calls fn for every entry of the tar stream r with a clean relative name, reading at most
// limit bytes; a damaged or oversize archive ends the collection with a refusal, not an error.
func (c *Collector) each(r io.Reader, what string, limit int64, fn func(name string, h *tar.Header, tr io.Reader) error) error {
	c.cur = &capReader{r: r, left: limit}
	tr := tar.NewReader(c.cur)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errStreamCap) {
			c.refuse("%s: more than %d bytes of output; the rest was not read", what, limit)
			return nil
		}
		if err != nil {
			c.refuse("%s: the output archive is damaged (%v); the rest was not read", what, err)
			return nil
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." || name == ".." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			continue
		}
		if err := fn(name, h, &denseReader{r: tr, cr: c.cur, start: c.cur.read}); errors.Is(err, errStreamCap) {
			c.refuse("%s: more than %d bytes of output; the rest was not read", what, limit)
			return nil
		} else if err != nil {
			return err
		}
	}
}

// write writes the last keep bytes of r (size bytes) to dir/name, name being a checked base
// name. ok is false when the entry was refused (a second entry of the same name, a short read).
func (c *Collector) write(dir, name string, r io.Reader, size, keep int64) (ok bool, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("making %s: %w", dir, err)
	}
	if size > keep {
		if _, err := io.CopyN(io.Discard, r, size-keep); err != nil {
			return false, c.readErr(name, err)
		}
	}
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o644)
	if errors.Is(err, fs.ErrExist) {
		c.refuse("%s: given twice in the output; the first is kept", name)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("writing a collected file: %w", err)
	}
	n, err := io.Copy(f, io.LimitReader(r, keep))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n < min(size, keep) {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		_ = os.Remove(p) // never leave half a file behind
		return false, c.readErr(name, err)
	}
	return true, nil
}

// readErr turns a failure to read the archive into a refusal (the build's fault) and passes a
// failure to write on (ours).
func (c *Collector) readErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if errors.Is(err, errStreamCap) {
		return err
	}
	c.refuse("%s: could not be read from the output (%v)", name, err)
	return nil
}

func describe(h *tar.Header) string {
	switch h.Typeflag {
	case tar.TypeSymlink:
		return "symlink to " + h.Linkname
	case tar.TypeLink:
		return "hard link to " + h.Linkname
	case tar.TypeDir:
		return "folder"
	}
	return fmt.Sprintf("type %q", h.Typeflag)
}
