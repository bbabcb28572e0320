package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// logFileBytes caps one collected per-step log file; the end of the file is kept.
const logFileBytes = 4 << 20

var (
	pkgFileRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9+._~-]{0,200}\.(ipk|apk)$`)
	stepRe    = regexp.MustCompile(`^[a-z]{1,20}$`)
)

// Collect copies the package files and logs out of the (stopped) container into dir:
// dir/packages/<file>.ipk, dir/logs/<unit>/<step>.txt, dir/logs/results.txt. Only regular files
// with expected names are written, with O_EXCL|O_NOFOLLOW; symlinks, devices, odd names and
// oversize files are refused and listed.
func (r *run) Collect(ctx context.Context, dir string) (builder.Collected, error) {
	col := builder.Collected{Logs: map[string]string{}}
	feed := r.spec.FeedName
	if feed == "" {
		feed = builder.DefaultFeedName
	}
	pkgDir := r.workdir + "/bin/packages/" + r.spec.Job.Arch + "/" + feed
	budget := r.limits.OutputBytes
	err := r.copyOut(ctx, pkgDir, &col, r.limits.OutputBytes+streamSlack, func(name string, h *tar.Header, tr io.Reader) error {
		rel, ok := strings.CutPrefix(name, feed+"/")
		if !ok || rel == "" || h.Typeflag == tar.TypeDir && !strings.Contains(rel, "/") {
			return nil
		}
		switch {
		case h.Typeflag != tar.TypeReg:
			col.Refused = append(col.Refused, fmt.Sprintf("%s: not a regular file (%s), not collected", rel, describe(h)))
		case strings.Contains(rel, "/") || !pkgFileRe.MatchString(rel):
			col.Refused = append(col.Refused, fmt.Sprintf("%s: not a package file name, not collected", rel))
		case h.Size > r.limits.FileBytes:
			col.Refused = append(col.Refused, fmt.Sprintf("%s: %d bytes is more than the %d bytes a package may have", rel, h.Size, r.limits.FileBytes))
		case h.Size > budget:
			col.Refused = append(col.Refused, fmt.Sprintf("%s: the outputs exceed %d bytes in all; not collected", rel, r.limits.OutputBytes))
		default:
			if err := writeFile(filepath.Join(dir, "packages"), rel, tr, h.Size, h.Size); err != nil {
				return err
			}
			budget -= h.Size
			col.Packages = append(col.Packages, "packages/"+rel)
		}
		return nil
	})
	if err != nil {
		return col, err
	}
	units := map[string]bool{}
	for _, u := range r.spec.Job.Units {
		units[u.Name] = true
	}
	err = r.copyOut(ctx, r.workdir+"/logs", &col, 4*r.limits.LogBytes+streamSlack, func(name string, h *tar.Header, tr io.Reader) error {
		if h.Typeflag != tar.TypeReg {
			return nil
		}
		if name == "logs/openwrt-ppa-results.txt" {
			if err := writeFile(filepath.Join(dir, "logs"), "results.txt", tr, h.Size, 1<<20); err != nil {
				return err
			}
			col.Results = "logs/results.txt"
			return nil
		}
		parts := strings.Split(name, "/") // logs/package/feeds/<feed>/<unit>/<step>.txt
		if len(parts) != 6 || parts[1] != "package" || parts[2] != "feeds" || parts[3] != feed || !units[parts[4]] {
			return nil
		}
		step, ok := strings.CutSuffix(parts[5], ".txt")
		if !ok || !stepRe.MatchString(step) {
			return nil
		}
		if err := writeFile(filepath.Join(dir, "logs", parts[4]), step+".txt", tr, h.Size, logFileBytes); err != nil {
			return err
		}
		col.Logs[parts[4]+"/"+step] = "logs/" + parts[4] + "/" + step + ".txt"
		return nil
	})
	return col, err
}

// streamSlack allows for tar headers and files that are read only to be refused.
const streamSlack = 64 << 20

// errStreamCap stops reading an output archive that is larger than anything we would keep.
var errStreamCap = errors.New("output archive too large")

type capReader struct {
	r    io.Reader
	left int64
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
	return n, err
}

// copyOut streams the tar archive of a container path to fn, reading at most limit bytes (what
// is past it is refused, not an error); a missing path is no error.
func (r *run) copyOut(ctx context.Context, src string, col *builder.Collected, limit int64, fn func(name string, h *tar.Header, tr io.Reader) error) error {
	res, err := r.e.cli.CopyFromContainer(ctx, r.id, client.CopyFromContainerOptions{SourcePath: src})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: copying %s out of the build container: %w", builder.ErrExecutor, src, err)
	}
	defer res.Content.Close()
	tr := tar.NewReader(&capReader{r: res.Content, left: limit})
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errStreamCap) {
			col.Refused = append(col.Refused, fmt.Sprintf("%s: more than %d bytes of output; the rest was not read", src, limit))
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the outputs of the build: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." || strings.HasPrefix(name, "../") || path.IsAbs(name) {
			continue
		}
		if err := fn(name, h, tr); errors.Is(err, errStreamCap) {
			col.Refused = append(col.Refused, fmt.Sprintf("%s: more than %d bytes of output; the rest was not read", src, limit))
			return nil
		} else if err != nil {
			return err
		}
	}
}

// writeFile writes the last keep bytes of r (size bytes) to dir/name; name is a checked base name.
func writeFile(dir, name string, r io.Reader, size, keep int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("making %s: %w", dir, err)
	}
	if size > keep {
		if _, err := io.CopyN(io.Discard, r, size-keep); err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o644)
	if err != nil {
		return fmt.Errorf("writing a collected file: %w", err)
	}
	_, err = io.Copy(f, io.LimitReader(r, keep))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(filepath.Join(dir, name)) // never leave half a package behind
		return fmt.Errorf("writing %s: %w", name, err)
	}
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
