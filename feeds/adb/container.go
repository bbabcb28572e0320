package adb

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Schemas are the u32 of a file header that says what the ADB block holds.
const (
	SchemaIndex   uint32 = 0x78646e69 // "indx": packages.adb
	SchemaPackage uint32 = 0x676b6370 // "pckg": a .apk package
)

// BlockType is a block's type (the top two bits of its header).
type BlockType uint32

// The block types that may follow the file header, in the order a file must have them.
const (
	BlockADB  BlockType = 0
	BlockSig  BlockType = 1
	BlockData BlockType = 2
	blockExt  BlockType = 3
)

const (
	fileMagic   = "ADB."
	maxRawBlock = 0x3fffffff // a raw size (header included) that fits the 30-bit field
)

// ErrNotADB is wrapped by errors about input that is not an apk v3 file at all.
var ErrNotADB = errors.New("not an apk v3 (ADB) file")

// Limits cap what ReadFile accepts. Zero fields take the defaults.
type Limits struct {
	MaxADB      int   // the ADB block payload; DefaultMaxADB when 0
	MaxUnpacked int64 // the decompressed file; DefaultMaxUnpacked when 0
	MaxSigs     int   // SIG blocks; DefaultMaxSigs when 0
}

// Defaults of Limits.
const (
	DefaultMaxADB      = 64 << 20
	DefaultMaxUnpacked = 1 << 30
	DefaultMaxSigs     = 16
	MaxSignatureLen    = 2048 // apk's ADB_MAX_SIGNATURE_LEN
)

// File is an ADB file read by ReadFile. DATA blocks are checked and counted, not kept.
type File struct {
	Schema     uint32
	Compressed string   // "ADB." (none), "ADBd" (deflate) or "ADBc/<alg>"
	ADB        []byte   // the ADB block payload
	Sigs       [][]byte // SIG block payloads, in file order
	DataBlocks int
	DataBytes  int64 // payload bytes of the DATA blocks
}

// ReadFile reads a whole ADB file from r: the compression prefix, the file header and every
// block, enforcing apk's order (one ADB block first, then SIG blocks, then DATA blocks) and the
// limits. It reads r to the end and refuses bytes after the last block or after the compressed
// stream.
func ReadFile(r io.Reader, lim Limits) (*File, error) {
	return new(Reader).ReadFile(r, lim)
}

// Reader reads ADB files, reusing its buffer and decompressor from file to file: for thousands of
// small packages, allocating them afresh costs more than the reading. The zero value is ready.
// A Reader is not safe for concurrent use.
type Reader struct {
	br *bufio.Reader
	zr io.ReadCloser // a flate decompressor, reset for each file
	// OnData, when set, is given each DATA block instead of skipping it: the file's 1-based
	// directory and file numbers in the package's paths, and its content (what it leaves unread
	// is skipped). Its error ends the reading.
	OnData func(dir, file uint32, content io.Reader) error
}

// ReadFile is the package-level ReadFile with the Reader's buffers.
func (x *Reader) ReadFile(r io.Reader, lim Limits) (*File, error) {
	if lim.MaxADB <= 0 {
		lim.MaxADB = DefaultMaxADB
	}
	if lim.MaxUnpacked <= 0 {
		lim.MaxUnpacked = DefaultMaxUnpacked
	}
	if lim.MaxSigs <= 0 {
		lim.MaxSigs = DefaultMaxSigs
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		if x.br == nil {
			x.br = bufio.NewReaderSize(r, 32<<10)
		} else {
			x.br.Reset(r)
		}
		br = x.br
		defer br.Reset(nil)
	}
	f := &File{}
	body, err := x.openBody(br, f)
	if err != nil {
		return nil, err
	}
	cr := &capped{r: body, left: lim.MaxUnpacked}
	var hdr [8]byte
	if _, err := io.ReadFull(cr, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: file header: %w", ErrNotADB, unexpected(err))
	}
	if string(hdr[:4]) != fileMagic {
		return nil, fmt.Errorf("%w: the container does not start with %q", ErrNotADB, fileMagic)
	}
	f.Schema = binary.LittleEndian.Uint32(hdr[4:])
	if err := readBlocks(cr, f, lim, x.OnData); err != nil {
		return nil, err
	}
	if f.Compressed != "ADB." {
		// The compressed stream ended with the last block; nothing may follow it.
		if _, err := br.ReadByte(); err == nil {
			return nil, corrupt("data after the end of the compressed stream")
		} else if err != io.EOF {
			return nil, err
		}
	}
	return f, nil
}

// openBody reads the compression prefix and returns the decompressed container.
func (x *Reader) openBody(br *bufio.Reader, f *File) (io.Reader, error) {
	head, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w: only %d bytes", ErrNotADB, len(head))
	}
	switch {
	case string(head) == fileMagic:
		f.Compressed = "ADB."
		return br, nil
	case string(head) == "ADBd":
		f.Compressed = "ADBd"
		br.Discard(4)
		return x.inflate(br), nil
	case string(head) == "ADBc":
		br.Discard(4)
		var spec [2]byte
		if _, err := io.ReadFull(br, spec[:]); err != nil {
			return nil, corrupt("compression header: %v", unexpected(err))
		}
		switch spec[0] {
		case 0:
			f.Compressed = "ADBc/none"
			return br, nil
		case 1:
			f.Compressed = "ADBc/deflate"
			return x.inflate(br), nil
		case 2:
			return nil, errors.New("the file is zstd-compressed, which OpenWrt's apk cannot read: build it with deflate (apk's default)")
		}
		return nil, corrupt("unknown compression %d", spec[0])
	case string(head[:3]) == "ADB":
		return nil, corrupt("unknown compression prefix %q", head)
	}
	return nil, fmt.Errorf("%w: it starts with %q, not \"ADB\" (an apk v2 package, or no package at all?)", ErrNotADB, head)
}

func (x *Reader) inflate(br *bufio.Reader) io.Reader {
	if x.zr == nil {
		x.zr = flate.NewReader(br)
	} else {
		x.zr.(flate.Resetter).Reset(br, nil)
	}
	return x.zr
}

func readBlocks(r io.Reader, f *File, lim Limits, onData func(dir, file uint32, content io.Reader) error) error {
	var hdr [16]byte
	sawADB, sawData := false, false
	for {
		n, err := io.ReadFull(r, hdr[:4])
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt("block header: %v (the file is truncated)", unexpected(err))
		}
		_ = n
		ts := binary.LittleEndian.Uint32(hdr[:4])
		typ := BlockType(ts >> 30)
		raw, hdrLen := uint64(ts&maxRawBlock), uint64(4)
		if typ == blockExt {
			if _, err := io.ReadFull(r, hdr[4:16]); err != nil {
				return corrupt("extended block header: %v", unexpected(err))
			}
			typ = BlockType(ts & maxRawBlock)
			raw, hdrLen = binary.LittleEndian.Uint64(hdr[8:]), 16
			if typ > BlockData {
				return corrupt("extended block of unknown type %d", typ)
			}
		}
		if raw < hdrLen {
			return corrupt("block size %d is smaller than its header", raw)
		}
		size := raw - hdrLen
		pad := (raw+7)&^7 - raw
		switch typ {
		case BlockADB:
			if sawADB {
				return corrupt("a second ADB block")
			}
			sawADB = true
			if size > uint64(lim.MaxADB) {
				return fmt.Errorf("the metadata block is %d bytes, over the limit of %d", size, lim.MaxADB)
			}
			f.ADB = make([]byte, size)
			if _, err := io.ReadFull(r, f.ADB); err != nil {
				return corrupt("ADB block: %v", unexpected(err))
			}
			if err := DB(f.ADB).Check(); err != nil {
				return err
			}
		case BlockSig:
			if !sawADB || sawData {
				return corrupt("a signature block where apk does not allow one")
			}
			if len(f.Sigs) == lim.MaxSigs {
				return fmt.Errorf("more than %d signature blocks", lim.MaxSigs)
			}
			if size > MaxSignatureLen {
				return corrupt("signature block of %d bytes is over apk's limit of %d", size, MaxSignatureLen)
			}
			sig := make([]byte, size)
			if _, err := io.ReadFull(r, sig); err != nil {
				return corrupt("signature block: %v", unexpected(err))
			}
			f.Sigs = append(f.Sigs, sig)
		case BlockData:
			if !sawADB {
				return corrupt("a data block before the ADB block")
			}
			sawData = true
			if size < 8 {
				return corrupt("data block of %d bytes lacks its file index", size)
			}
			if onData != nil {
				if _, err := io.ReadFull(r, hdr[4:12]); err != nil {
					return corrupt("data block: %v in its file index", unexpected(err))
				}
				content := &io.LimitedReader{R: r, N: int64(size - 8)}
				if err := onData(binary.LittleEndian.Uint32(hdr[4:8]), binary.LittleEndian.Uint32(hdr[8:12]), content); err != nil {
					return err
				}
				if _, err := io.Copy(io.Discard, content); err != nil {
					return corrupt("data block: %v", unexpected(err))
				}
				if content.N != 0 {
					return corrupt("data block: the file is truncated, %d of %d bytes missing", content.N, size)
				}
			} else if m, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
				return corrupt("data block: %v after %d of %d bytes", unexpected(err), m, size)
			}
			f.DataBlocks++
			f.DataBytes += int64(size)
		}
		if pad > 0 {
			if _, err := io.ReadFull(r, hdr[:pad]); err != nil {
				return corrupt("block padding: %v", unexpected(err))
			}
		}
	}
	if !sawADB {
		return corrupt("no ADB block")
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// capped fails once more than left bytes were read: a small compressed file cannot make a
// reader go through gigabytes.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a file of exactly the limit from a larger one.
		var b [1]byte
		if n, _ := c.r.Read(b[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, errors.New("the decompressed file is over the size limit")
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// AppendBlock appends one block (header, payload, zero padding to 8 bytes) to dst.
func AppendBlock(dst []byte, t BlockType, payload []byte) []byte {
	raw := uint64(len(payload)) + 4
	if raw > maxRawBlock {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(blockExt)<<30|uint32(t))
		dst = binary.LittleEndian.AppendUint32(dst, 0)
		raw += 12
		dst = binary.LittleEndian.AppendUint64(dst, raw)
	} else {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(t)<<30|uint32(raw))
	}
	dst = append(dst, payload...)
	for raw%8 != 0 {
		dst = append(dst, 0)
		raw++
	}
	return dst
}

// AppendHeader appends the file header for schema.
func AppendHeader(dst []byte, schema uint32) []byte {
	return binary.LittleEndian.AppendUint32(append(dst, fileMagic...), schema)
}

// Encode is an uncompressed file: header, the ADB block, then one SIG block per signature.
func Encode(schema uint32, payload []byte, sigs ...[]byte) []byte {
	n := 8 + len(payload) + 8
	for _, s := range sigs {
		n += len(s) + 12
	}
	out := AppendHeader(make([]byte, 0, n), schema)
	out = AppendBlock(out, BlockADB, payload)
	for _, s := range sigs {
		out = AppendBlock(out, BlockSig, s)
	}
	return out
}

// Compress wraps a container as apk's default does: "ADBd" and a raw deflate stream of it.
// level is a compress/flate level (apk uses 9; any level gives a file apk reads).
func Compress(container []byte, level int) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(len(container)/2 + 64)
	b.WriteString("ADBd")
	zw, err := flate.NewWriter(&b, level)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(container); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CompressWriter starts an "ADBd" stream on w; the caller writes the container and closes it.
func CompressWriter(w io.Writer, level int) (*flate.Writer, error) {
	if _, err := io.WriteString(w, "ADBd"); err != nil {
		return nil, err
	}
	return flate.NewWriter(w, level)
}
