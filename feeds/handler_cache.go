package feeds

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Index files are small, fetched by every router on every `opkg update`, and replaced only by
// renames. The handler keeps them in memory and checks on each request, with one stat, that the
// name still holds the same inode, size and mtime: a publish is visible at once, and a cached
// file is served without opening, reading and closing it again.
const (
	// DefaultRecheck bounds how long a cached index is served without looking at the disk.
	DefaultRecheck    = 10 * time.Millisecond
	maxCachedFileSize = 4 << 20
	maxCachedFiles    = 4096
)

var cachedNames = map[string]bool{FilePackagesGz: true, FilePackages: true, FileSignature: true, FileIndexJSON: true, FileAPKIndex: true}

type cachedFile struct {
	// checked is when the file on disk was last seen to be this one (unix nanoseconds).
	checked atomic.Int64
	key     fileKey
	data    []byte
	modTime time.Time
	header  http.Header // Content-Type, ETag, Cache-Control, X-Content-Type-Options
	// plain is header plus Last-Modified and Content-Length, for requests that are neither
	// conditional nor ranged (almost all of them): they skip http.ServeContent.
	plain http.Header
}

type fileCache struct {
	recheck time.Duration // see Handler.SetRecheck
	mu      sync.RWMutex
	files   map[string]*cachedFile
}

// get returns the cached file under name if it is still the file on disk.
func (c *fileCache) get(b *beneath, name string) *cachedFile {
	c.mu.RLock()
	cf := c.files[name]
	c.mu.RUnlock()
	if cf == nil {
		return nil
	}
	// Under load the same index is asked for many times a millisecond: one stat in each
	// recheck interval is enough to see a publish (which renames, never rewrites in place).
	now := time.Now().UnixNano()
	if now-cf.checked.Load() < int64(c.recheck) {
		return cf
	}
	if key, err := b.stat(name); err != nil || key != cf.key {
		c.mu.Lock()
		if c.files[name] == cf {
			delete(c.files, name)
		}
		c.mu.Unlock()
		return nil
	}
	cf.checked.Store(now)
	return cf
}

// load reads an open index file into the cache, when it is one worth keeping.
func (c *fileCache) load(name string, f *os.File, fi os.FileInfo, header http.Header) *cachedFile {
	if !cachedNames[path.Base(name)] || fi.Size() > maxCachedFileSize {
		return nil
	}
	key, err := keyOf(f)
	if err != nil {
		return nil
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil
	}
	cf := &cachedFile{key: key, data: data, modTime: fi.ModTime(), header: header.Clone()}
	cf.plain = header.Clone()
	cf.plain["Last-Modified"] = []string{fi.ModTime().UTC().Format(http.TimeFormat)}
	cf.plain["Content-Length"] = []string{strconv.Itoa(len(data))}
	c.mu.Lock()
	if c.files == nil {
		c.files = map[string]*cachedFile{}
	}
	if len(c.files) >= maxCachedFiles {
		for k := range c.files { // drop any one entry
			delete(c.files, k)
			break
		}
	}
	c.files[name] = cf
	c.mu.Unlock()
	return cf
}

func (cf *cachedFile) serve(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if plainRequest(r) {
		for k, v := range cf.plain {
			hdr[k] = v
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(cf.data)
		}
		return
	}
	for k, v := range cf.header {
		hdr[k] = v
	}
	http.ServeContent(w, r, "", cf.modTime, bytes.NewReader(cf.data))
}

// plainRequest reports whether r asks for the whole file unconditionally.
func plainRequest(r *http.Request) bool {
	for _, k := range []string{"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}
