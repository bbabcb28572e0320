package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Handler serves a feed root over HTTP: GET and HEAD, Range, ETag and Last-Modified with
// conditional requests, content types for each feed file, and a plain directory page for humans.
// No request gets out of the root: ".." and hidden names are refused, encoded slashes are refused,
// and files are opened through an os.Root, which does not follow symlinks out of it.
type Handler struct {
	dir      string
	root     *os.Root
	fast     *beneath
	noOpenat atomic.Bool // the kernel lacks openat2: use root
	cache    fileCache
	log      *slog.Logger
}

// errUnsupported says the fast open path is not available here.
var errUnsupported = errors.New("openat2 is not supported")

var _ http.Handler = (*Handler)(nil)

// NewHandler serves the folder dir. Close releases it.
func NewHandler(dir string, log *slog.Logger) (*Handler, error) {
	if log == nil {
		log = slog.Default()
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the feed root %s: %w", dir, err)
	}
	fast, err := openBeneath(dir)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("opening the feed root %s: %w", dir, err)
	}
	h := &Handler{dir: dir, root: r, fast: fast, log: log}
	h.cache.recheck = DefaultRecheck
	return h, nil
}

// SetRecheck sets how long an index file held in memory is served before the handler looks
// again whether a publish replaced it (DefaultRecheck; 0 looks on every request). A publish is
// visible to readers within this time. Call it before serving.
func (h *Handler) SetRecheck(d time.Duration) { h.cache.recheck = max(d, 0) }

// Root is the folder served.
func (h *Handler) Root() string { return h.dir }

// Close releases the feed root.
func (h *Handler) Close() error { return errors.Join(h.fast.close(), h.root.Close()) }

func (h *Handler) open(name string) (*os.File, error) {
	if !h.noOpenat.Load() {
		f, err := h.fast.open(name)
		if err != errUnsupported {
			return f, err
		}
		h.noOpenat.Store(true)
	}
	return h.root.Open(name)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "only GET and HEAD are served here", http.StatusMethodNotAllowed)
		return
	}
	name, ok := cleanRequestPath(r.URL)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if !h.noOpenat.Load() {
		if cf := h.cache.get(h.fast, name); cf != nil {
			cf.serve(w, r)
			return
		}
	}
	f, err := h.open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.log.Debug("feed: refused or failed open", "path", name, "err", err)
		}
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read the file", http.StatusInternalServerError)
		return
	}
	switch {
	case fi.IsDir():
		if !strings.HasSuffix(r.URL.Path, "/") {
			target := r.URL.EscapedPath() + "/"
			if r.URL.RawQuery != "" {
				target += "?" + r.URL.RawQuery
			}
			http.Redirect(w, r, target, http.StatusMovedPermanently)
			return
		}
		// Listings are rare: open the folder through os.Root, whose entries can stat themselves.
		d, err := h.root.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer d.Close()
		h.listing(w, r, d, name)
	case fi.Mode().IsRegular():
		hdr := w.Header()
		hdr.Set("Content-Type", contentType(fi.Name()))
		hdr.Set("ETag", etag(fi))
		hdr.Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(fi.Name(), ".ipk") {
			// A package file keeps its content for as long as it has its name.
			hdr.Set("Cache-Control", "public, max-age=3600")
		} else {
			hdr.Set("Cache-Control", "no-cache")
		}
		if !h.noOpenat.Load() {
			if cf := h.cache.load(name, f, fi, hdr); cf != nil {
				http.ServeContent(w, r, "", cf.modTime, bytes.NewReader(cf.data))
				return
			}
		}
		http.ServeContent(w, r, "", fi.ModTime(), f)
	default:
		http.NotFound(w, r)
	}
}

// cleanRequestPath maps a URL to a name inside the root, or refuses it. The owner and repository
// segments are matched case-insensitively (the folders are lower case).
func cleanRequestPath(u *url.URL) (string, bool) {
	raw := u.EscapedPath()
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(lower, "%00") {
		return "", false // an encoded slash, backslash or NUL never names a file here
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	p = strings.TrimSuffix(p[1:], "/")
	if p == "" {
		return ".", true
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "" || strings.HasPrefix(s, ".") {
			return "", false // "..", ".", hidden files (locks, staging files) and "//"
		}
		if i < 2 {
			segs[i] = strings.ToLower(s)
		}
	}
	return strings.Join(segs, "/"), true
}

func etag(fi fs.FileInfo) string {
	return `"` + strconv.FormatInt(fi.ModTime().UnixNano(), 36) + "-" + strconv.FormatInt(fi.Size(), 36) + `"`
}

// contentType names what feed files are. Packages.gz is a gzip file to download, not a
// compressed text: it gets no Content-Encoding, or clients would unpack it.
func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".ipk"):
		return "application/octet-stream"
	case strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case name == FilePackages, name == FileManifest, strings.HasSuffix(name, ".sig"), strings.HasSuffix(name, ".pub"), strings.HasSuffix(name, ".txt"):
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// listing writes a plain page of a folder's visible entries.
func (h *Handler) listing(w http.ResponseWriter, r *http.Request, f *os.File, name string) {
	entries, err := f.ReadDir(-1)
	if err != nil {
		http.Error(w, "cannot list the folder", http.StatusInternalServerError)
		return
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), ".") })
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	title := "/"
	if name != "." {
		title = "/" + name + "/"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.Method == http.MethodHead {
		return
	}
	var b strings.Builder
	b.WriteString("<!doctype html>\n<meta charset=utf-8>\n<title>Index of " + html.EscapeString(title) + "</title>\n")
	b.WriteString("<h1>Index of " + html.EscapeString(title) + "</h1>\n<pre>\n")
	if name != "." {
		b.WriteString("<a href=\"../\">../</a>\n")
	}
	for _, e := range entries {
		n := e.Name()
		display, href := n, url.PathEscape(n)
		info, err := e.Info()
		if err != nil {
			continue
		}
		size := strconv.FormatInt(info.Size(), 10)
		if e.IsDir() {
			display, href, size = n+"/", href+"/", "-"
		}
		fmt.Fprintf(&b, "<a href=\"%s\">%s</a>%s %s %12s\n", html.EscapeString(href), html.EscapeString(display),
			strings.Repeat(" ", max(1, 50-len(display))), info.ModTime().UTC().Format(time.DateTime), size)
	}
	b.WriteString("</pre>\n")
	writeAPKListing(&b, h.root, name)
	_, _ = w.Write([]byte(b.String()))
}

// writeAPKListing adds, for a folder holding an apk index, the packages it lists: an apk feed has
// no text index a person could read, so the page shows what a router would see.
func writeAPKListing(b *strings.Builder, root *os.Root, name string) {
	f, err := root.Open(path.Join(name, FileAPKIndex))
	if err != nil {
		return
	}
	defer f.Close()
	_, entries, err := ReadAPKIndex(f)
	if err != nil {
		b.WriteString("<p>The package index cannot be read: " + html.EscapeString(err.Error()) + "</p>\n")
		return
	}
	fmt.Fprintf(b, "<h2>Packages (%d)</h2>\n<table>\n<tr><th>name</th><th>version</th><th>size</th><th>description</th></tr>\n", len(entries))
	for _, e := range entries {
		i := e.Info
		file := apkFileName(i.Name, i.Version)
		desc, _, _ := strings.Cut(i.Description, "\n")
		fmt.Fprintf(b, "<tr><td><a href=\"%s\">%s</a></td><td>%s</td><td>%d</td><td>%s</td></tr>\n", html.EscapeString(url.PathEscape(file)),
			html.EscapeString(i.Name), html.EscapeString(i.Version), i.FileSize, html.EscapeString(truncate(desc, 120)))
	}
	b.WriteString("</table>\n")
}
