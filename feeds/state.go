package feeds

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fileRetired lists the package files that left the index and when, so that they are deleted
// once the grace period is over. Dot files are never served.
const fileRetired = ".retired"

// retiredFile is a package file no longer in the index but still downloadable.
type retiredFile struct {
	Name   string
	SHA256 string
	Since  time.Time
}

// load brings f up to date with the feed folder dir. An opkg feed's entries come from
// Packages.manifest, an apk feed's from packages.adb, which hold every entry with its file name,
// size and hash, so no package file is read again; a folder without an index (made by hand, or by
// `openwrt-ppa index` without signing) has its packages read once. want is the format a publish
// needs (anyFormat for reading): a folder holding the other one's index is an error.
func (s *Store) load(f *feedState, dir string, want Format) error {
	format, ok, apkID, err := indexOnDisk(dir)
	if err != nil {
		return err
	}
	if ok && want != anyFormat && format != want {
		return fmt.Errorf("the feed holds an %s index and cannot take %s packages; a series keeps one format", format, want)
	}
	if !ok && want != anyFormat {
		format = want
	}
	switch {
	case format == FormatAPK && ok:
		if err := s.loadAPK(f, dir, apkID); err != nil {
			return err
		}
	case format == FormatAPK:
		f.format, f.apk, f.entries, f.from = FormatAPK, s.scanAPK(dir), nil, fileID{}
	default:
		if err := s.loadOPKG(f, dir); err != nil {
			return err
		}
	}
	retired, err := readRetired(filepath.Join(dir, fileRetired))
	if err != nil {
		return err
	}
	f.retired = retired
	f.knownSHA = map[string]string{}
	for _, r := range f.retired {
		f.knownSHA[r.Name] = r.SHA256
	}
	for _, e := range f.entries {
		f.knownSHA[e.pkg.Filename] = e.pkg.SHA256
	}
	for _, e := range f.apk {
		if e.file.SHA256 != "" {
			f.knownSHA[e.file.Filename] = e.file.SHA256
		}
	}
	f.loaded = true
	return nil
}

// anyFormat asks load for whatever index the folder holds.
const anyFormat Format = -1

func (s *Store) loadOPKG(f *feedState, dir string) error {
	manifest := filepath.Join(dir, FileManifest)
	id, err := statID(manifest)
	switch {
	case err == nil && f.loaded && f.format == FormatOPKG && id == f.from:
		// The cached entries are those of the index on disk.
	case err == nil:
		data, err := os.ReadFile(manifest)
		if err != nil {
			return fmt.Errorf("reading the feed's index: %w", err)
		}
		entries, err := parseManifest(data)
		if err != nil {
			return fmt.Errorf("%s: %w (remove it to have the feed re-read its packages)", manifest, err)
		}
		f.entries, f.from = entries, id
		f.gz = gzCache{}
		removeStaleStaging(dir, s.opt.Now())
	case errors.Is(err, fs.ErrNotExist):
		entries, err := s.scan(dir)
		if err != nil {
			return err
		}
		f.entries, f.from = entries, fileID{}
	default:
		return fmt.Errorf("reading the feed's index: %w", err)
	}
	f.format, f.apk = FormatOPKG, nil
	return nil
}

// scan reads the packages in a feed folder that has no index yet.
func (s *Store) scan(dir string) ([]*entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the feed: %w", err)
	}
	var entries []*entry
	for _, de := range des {
		if !de.Type().IsRegular() || !strings.HasSuffix(de.Name(), ".ipk") || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		p, err := ReadPackageFile(filepath.Join(dir, de.Name()), de.Name(), s.opt.MaxPackageSize)
		if err != nil {
			s.opt.Logger.Warn("feed: ignoring an unreadable package already in the folder", "dir", dir, "err", err)
			continue
		}
		entries = append(entries, newEntry(p))
	}
	return sortEntries(entries), nil
}

// parseManifest reads the entries back from a Packages.manifest this package wrote.
func parseManifest(data []byte) ([]*entry, error) {
	var entries []*entry
	for len(data) > 0 {
		var stanza []byte
		if i := bytes.Index(data, []byte("\n\n")); i >= 0 {
			stanza, data = data[:i+1], data[i+2:]
		} else {
			stanza, data = data, nil
		}
		if len(bytes.TrimSpace(stanza)) == 0 {
			continue
		}
		var p Package
		var ctl []byte
		for _, line := range bytes.SplitAfter(stanza, []byte("\n")) {
			switch {
			case bytes.HasPrefix(line, []byte("Filename: ")):
				p.Filename = strings.TrimSpace(string(line[len("Filename: "):]))
			case bytes.HasPrefix(line, []byte("Size: ")):
				n, err := strconv.ParseInt(strings.TrimSpace(string(line[len("Size: "):])), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("bad Size line %q", line)
				}
				p.Size = n
			case bytes.HasPrefix(line, []byte("SHA256sum: ")):
				p.SHA256 = strings.TrimSpace(string(line[len("SHA256sum: "):]))
			default:
				ctl = append(ctl, line...)
			}
		}
		c, err := ParseControl(ctl)
		if err != nil {
			return nil, err
		}
		if p.Filename == "" || len(p.SHA256) != 64 {
			return nil, fmt.Errorf("stanza of %s lacks Filename or SHA256sum", c.Package)
		}
		p.Control = c
		entries = append(entries, newEntry(p))
	}
	return entries, nil
}

func readRetired(path string) ([]retiredFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the list of retired files: %w", err)
	}
	defer f.Close()
	var out []retiredFile
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 3)
		if len(parts) != 3 {
			continue
		}
		ns, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || !isPlainFileName(parts[2]) {
			continue
		}
		out = append(out, retiredFile{Name: parts[2], SHA256: parts[1], Since: time.Unix(0, ns)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the list of retired files: %w", err)
	}
	return out, nil
}

func encodeRetired(list []retiredFile) []byte {
	var b bytes.Buffer
	for _, r := range list {
		fmt.Fprintf(&b, "%d %s %s\n", r.Since.UnixNano(), r.SHA256, r.Name)
	}
	return b.Bytes()
}

// isPlainFileName reports whether name is a single, visible file name inside a folder.
func isPlainFileName(name string) bool {
	return name != "" && !strings.ContainsAny(name, "/\\\x00") && !strings.HasPrefix(name, ".")
}

// removeStaleStaging deletes staging files a crash left behind (older than an hour, so that
// another process's publish in progress keeps its own). It runs when a feed is loaded from disk,
// not on every publish: listing a folder of 10,000 packages is not free.
func removeStaleStaging(dir string, now time.Time) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") && strings.HasSuffix(de.Name(), ".tmp") {
			if fi, err := de.Info(); err == nil && now.Sub(fi.ModTime()) > time.Hour {
				os.Remove(filepath.Join(dir, de.Name()))
			}
		}
	}
}
