package feeds

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// Limits on reading a package. A package over them is refused, never half-read.
const (
	// DefaultMaxPackageSize caps the size of one .ipk file.
	DefaultMaxPackageSize = 256 << 20
	// maxUnpacked caps the decompressed outer container, against gzip bombs.
	maxUnpacked = 1 << 30
	// maxControlArchive caps the decompressed control.tar.gz.
	maxControlArchive = 4 << 20
	maxMembers        = 16
	maxControlMembers = 64
)

// ErrNotPackage is wrapped by errors about input that is not an .ipk at all.
var ErrNotPackage = errors.New("not an ipk package")

// ReadIPK reads an .ipk package from r and returns its parsed, validated control stanza. It
// accepts the gzipped tar of current OpenWrt and the older ar container. It reads r to its end,
// so that a caller hashing r through an io.TeeReader hashes the whole file.
func ReadIPK(r io.Reader) (*Control, error) {
	return new(ipkReader).read(r)
}

// ipkReader holds the buffers and decompressors of one reader, reused from package to package:
// allocating them afresh for each of thousands of small packages made indexing spend most of its
// time collecting garbage.
type ipkReader struct {
	br           *bufio.Reader
	outer, inner gzip.Reader
	sha          hash.Hash
}

func (x *ipkReader) read(r io.Reader) (*Control, error) {
	if x.br == nil {
		x.br = bufio.NewReaderSize(r, 32<<10)
	} else {
		x.br.Reset(r)
	}
	br := x.br
	defer br.Reset(nil)
	head, err := br.Peek(8)
	if err != nil && len(head) < 2 {
		return nil, fmt.Errorf("%w: file is too short", ErrNotPackage)
	}
	var ctl *Control
	switch {
	case head[0] == 0x1f && head[1] == 0x8b:
		ctl, err = x.readGzipTar(br)
	case string(head) == "!<arch>\n":
		ctl, err = x.readAr(br)
	default:
		return nil, fmt.Errorf("%w: neither a gzipped tar nor an ar archive", ErrNotPackage)
	}
	if err != nil {
		return nil, err
	}
	// Drain what is left so that hashing readers see every byte.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("reading package: %w", err)
	}
	return ctl, nil
}

// members collects the three parts of a package whatever the container.
type members struct {
	sawDebianBinary, sawData bool
	control                  *Control
}

func (m *members) add(x *ipkReader, name string, r io.Reader) error {
	name = strings.TrimPrefix(strings.TrimSuffix(name, "/"), "./")
	switch name {
	case "debian-binary":
		if m.sawDebianBinary {
			return fmt.Errorf("%w: debian-binary appears twice", ErrNotPackage)
		}
		m.sawDebianBinary = true
		b, err := io.ReadAll(io.LimitReader(r, 16))
		if err != nil {
			return fmt.Errorf("reading debian-binary: %w", err)
		}
		if string(b) != "2.0\n" {
			return fmt.Errorf("%w: debian-binary holds %q, want \"2.0\\n\"", ErrNotPackage, b)
		}
	case "data.tar.gz":
		if m.sawData {
			return fmt.Errorf("%w: data.tar.gz appears twice", ErrNotPackage)
		}
		m.sawData = true
	case "control.tar.gz":
		if m.control != nil {
			return fmt.Errorf("%w: control.tar.gz appears twice", ErrNotPackage)
		}
		ctl, err := x.readControlArchive(r)
		if err != nil {
			return err
		}
		m.control = ctl
	case "":
		// The "./" directory entry some tar writers add.
	default:
		return fmt.Errorf("%w: unexpected member %q (an ipk holds debian-binary, data.tar.gz and control.tar.gz)", ErrNotPackage, truncate(name, 60))
	}
	return nil
}

func (m *members) done() (*Control, error) {
	switch {
	case !m.sawDebianBinary:
		return nil, fmt.Errorf("%w: no debian-binary member", ErrNotPackage)
	case !m.sawData:
		return nil, fmt.Errorf("%w: no data.tar.gz member", ErrNotPackage)
	case m.control == nil:
		return nil, fmt.Errorf("%w: no control.tar.gz member", ErrNotPackage)
	}
	return m.control, nil
}

func (x *ipkReader) readGzipTar(r io.Reader) (*Control, error) {
	zr := &x.outer
	if err := zr.Reset(r); err != nil {
		return nil, fmt.Errorf("%w: outer gzip: %w", ErrNotPackage, err)
	}
	lr := &capReader{r: zr, left: maxUnpacked, what: "unpacked package"}
	tr := tar.NewReader(lr)
	var m members
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: outer tar: %w", ErrNotPackage, err)
		}
		if n == maxMembers {
			return nil, fmt.Errorf("%w: more than %d members", ErrNotPackage, maxMembers)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: member %q is not a regular file", ErrNotPackage, truncate(h.Name, 60))
		}
		if err := m.add(x, h.Name, tr); err != nil {
			return nil, err
		}
	}
	// Let gzip check its trailer (CRC and length) so that a corrupt file is refused.
	if _, err := io.Copy(io.Discard, lr); err != nil {
		return nil, fmt.Errorf("%w: outer gzip: %w", ErrNotPackage, err)
	}
	return m.done()
}

// readArIPK reads the old container: "!<arch>\n" then members with 60-byte headers.
func (x *ipkReader) readAr(r io.Reader) (*Control, error) {
	if _, err := io.ReadFull(r, make([]byte, 8)); err != nil {
		return nil, fmt.Errorf("%w: ar header: %w", ErrNotPackage, err)
	}
	var m members
	hdr := make([]byte, 60)
	for n := 0; ; n++ {
		_, err := io.ReadFull(r, hdr)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: ar member header: %w", ErrNotPackage, err)
		}
		if n == maxMembers {
			return nil, fmt.Errorf("%w: more than %d members", ErrNotPackage, maxMembers)
		}
		if hdr[58] != '`' || hdr[59] != '\n' {
			return nil, fmt.Errorf("%w: bad ar member header", ErrNotPackage)
		}
		name := strings.TrimRight(string(hdr[0:16]), " ")
		size, err := strconv.ParseInt(strings.TrimRight(string(hdr[48:58]), " "), 10, 64)
		if err != nil || size < 0 || size > maxUnpacked {
			return nil, fmt.Errorf("%w: bad ar member size", ErrNotPackage)
		}
		body := io.LimitReader(r, size)
		if err := m.add(x, name, body); err != nil {
			return nil, err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return nil, fmt.Errorf("%w: ar member %q: %w", ErrNotPackage, name, err)
		}
		if size%2 == 1 { // members are 2-byte aligned
			if _, err := io.ReadFull(r, hdr[:1]); err != nil && err != io.EOF {
				return nil, fmt.Errorf("%w: ar padding: %w", ErrNotPackage, err)
			}
		}
	}
	return m.done()
}

func (x *ipkReader) readControlArchive(r io.Reader) (*Control, error) {
	zr := &x.inner
	if err := zr.Reset(r); err != nil {
		return nil, fmt.Errorf("%w: control.tar.gz: %w", ErrNotPackage, err)
	}
	tr := tar.NewReader(&capReader{r: zr, left: maxControlArchive, what: "control.tar.gz"})
	for n := 0; ; n++ {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%w: control.tar.gz has no control file", ErrNotPackage)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: control.tar.gz: %w", ErrNotPackage, err)
		}
		if n == maxControlMembers {
			return nil, fmt.Errorf("%w: control.tar.gz has more than %d members", ErrNotPackage, maxControlMembers)
		}
		if strings.TrimPrefix(h.Name, "./") != "control" {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: control is not a regular file", ErrNotPackage)
		}
		if h.Size > MaxControlSize {
			return nil, &ControlError{Reason: fmt.Sprintf("%d bytes is over the limit of %d", h.Size, MaxControlSize)}
		}
		data, err := io.ReadAll(io.LimitReader(tr, MaxControlSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: reading control: %w", ErrNotPackage, err)
		}
		return ParseControl(data)
	}
}

// capReader fails once more than left bytes were read, so that no input can make a reader spin
// through gigabytes of decompressed data.
type capReader struct {
	r    io.Reader
	left int64
	what string
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("%w: %s is larger than %d bytes", ErrNotPackage, c.what, maxUnpacked)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Package is a package file that was read and checked: what an index says about it.
type Package struct {
	Filename string // path relative to the feed folder, '/'-separated
	Size     int64
	SHA256   string // lower-case hex
	Control  *Control
}

// ReadPackage reads a whole package from r, hashing it, and returns it with filename as its
// Filename. maxSize caps the file (DefaultMaxPackageSize when 0).
func ReadPackage(r io.Reader, filename string, maxSize int64) (Package, error) {
	return new(ipkReader).readPackage(r, filename, maxSize)
}

func (x *ipkReader) readPackage(r io.Reader, filename string, maxSize int64) (Package, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxPackageSize
	}
	if x.sha == nil {
		x.sha = sha256.New()
	}
	h := x.sha
	h.Reset()
	cr := &countReader{r: io.LimitReader(r, maxSize+1)}
	ctl, err := x.read(io.TeeReader(cr, h))
	if err != nil {
		return Package{}, &PackageError{File: filename, Err: err}
	}
	if cr.n > maxSize {
		return Package{}, &PackageError{File: filename, Err: fmt.Errorf("file is larger than the limit of %d bytes", maxSize)}
	}
	return Package{Filename: filename, Size: cr.n, SHA256: hex.EncodeToString(h.Sum(nil)), Control: ctl}, nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// PackageError is a refused package: which file, and why.
type PackageError struct {
	File string
	Err  error
}

func (e *PackageError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *PackageError) Unwrap() error { return e.Err }

// Reason is the error without the file name, for listing refusals by package.
func (e *PackageError) Reason() string { return e.Err.Error() }
