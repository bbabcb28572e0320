package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// StoreOptions tune a Store. The zero value is usable.
type StoreOptions struct {
	// KeepVersions is how many versions of each package the index lists (newest first); 1 when 0.
	KeepVersions int
	// Grace is how long a file that left the index stays downloadable, so that a router holding
	// the previous index can still install from it; 24 h when 0.
	Grace time.Duration
	// MaxPackageSize caps one package file; DefaultMaxPackageSize when 0.
	MaxPackageSize int64
	// Sync makes every published file durable (fsync) before it becomes visible.
	Sync bool
	// MaxCachedFeeds caps how many feeds keep their parsed index in memory; 256 when 0.
	MaxCachedFeeds int
	// Logger receives one line per publish; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock (tests move it); time.Now when nil.
	Now func() time.Time
}

// Store keeps feeds on disk under a root folder, in the layout of DESIGN.md, and publishes into
// them. Publishes to one feed are serialised (within the process by a mutex, across processes
// sharing the folder by a lock file); different feeds publish in parallel. A Store is safe for
// concurrent use.
type Store struct {
	root string
	opt  StoreOptions

	mu    sync.Mutex
	feeds map[string]*feedState // by feed folder, relative to root
	tick  uint64                // use counter for evicting cached feeds
}

// feedState is one feed's in-memory state: its index entries, parsed once and kept while the
// index on disk is the one they came from.
type feedState struct {
	mu       sync.Mutex // held during a publish
	lastUse  uint64
	loaded   bool
	format   Format
	from     fileID      // the index file (Packages.manifest, packages.adb) the entries were read from
	entries  []*entry    // an opkg feed's
	apk      []*apkEntry // an apk feed's
	retired  []retiredFile
	gz       gzCache
	knownSHA map[string]string // file name → SHA256 of files in the folder we wrote or read
}

// fileID tells whether a file is still the one that was read.
type fileID struct {
	ino, size uint64
	mtime     int64
}

func statID(path string) (fileID, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}, err
	}
	id := fileID{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = st.Ino
	}
	return id, nil
}

// OpenStore opens (creating it if needed) the feed root folder.
func OpenStore(root string, opt StoreOptions) (*Store, error) {
	if opt.KeepVersions <= 0 {
		opt.KeepVersions = 1
	}
	if opt.Grace <= 0 {
		opt.Grace = 24 * time.Hour
	}
	if opt.MaxCachedFeeds <= 0 {
		opt.MaxCachedFeeds = 256
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("creating feed root: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("feed root: %w", err)
	}
	return &Store{root: abs, opt: opt, feeds: map[string]*feedState{}}, nil
}

// Root is the feed root folder.
func (s *Store) Root() string { return s.root }

// feed returns the state of a feed folder, evicting the least recently used idle feed when
// the cache is full.
func (s *Store) feed(dir string) *feedState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tick++
	f, ok := s.feeds[dir]
	if !ok {
		if len(s.feeds) >= s.opt.MaxCachedFeeds {
			s.evictLocked()
		}
		f = &feedState{}
		s.feeds[dir] = f
	}
	f.lastUse = s.tick
	return f
}

func (s *Store) evictLocked() {
	var oldest string
	var at uint64
	for d, f := range s.feeds {
		if f.mu.TryLock() {
			if oldest == "" || f.lastUse < at {
				oldest, at = d, f.lastUse
			}
			f.mu.Unlock()
		}
	}
	if oldest != "" {
		delete(s.feeds, oldest)
	}
}

// lockDir takes the cross-process lock of a feed folder, waiting until ctx ends.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the feed lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("locking the feed: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another publish to the feed: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// indexFiles are the package files the feed's index lists now.
func (f *feedState) indexFiles() map[string]bool {
	in := make(map[string]bool, len(f.entries)+len(f.apk))
	for _, e := range f.entries {
		in[e.pkg.Filename] = true
	}
	for _, e := range f.apk {
		in[e.file.Filename] = true
	}
	return in
}
