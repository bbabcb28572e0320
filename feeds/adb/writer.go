package adb

import (
	"encoding/binary"
	"fmt"
)

// Writer builds an ADB block payload the way apk's writer does, so that the same calls in the
// same order give the same bytes: each value is appended to the heap at its alignment (zero bytes
// pad up to it), and a value whose bytes are already in the heap at a suitable alignment is not
// written again but referenced (apk's de-duplication; it makes the heap layout part of the
// format's reproducibility).
type Writer struct {
	buf     []byte
	seen    map[string]uint32
	scratch []byte
	err     error
}

// NewWriter starts an empty payload (the 8-byte header, root Null).
func NewWriter() *Writer {
	return &Writer{buf: make([]byte, 8, 8<<10), seen: make(map[string]uint32)}
}

// Err is the first error met (the payload grew past MaxPayload, or a Copy read bad data).
func (w *Writer) Err() error { return w.err }

// Len is the payload's current length.
func (w *Writer) Len() int { return len(w.buf) }

// View reads the payload written so far (valid until the next write).
func (w *Writer) View() DB { return DB(w.buf) }

// data stores b at align (deduplicated) and returns its offset.
func (w *Writer) data(b []byte, align int) uint32 {
	if off, ok := w.seen[string(b)]; ok && off%uint32(align) == 0 {
		return off
	}
	// Content found at a wrong alignment is written again, and the new copy replaces the old in
	// the table, as apk's writer does.
	off := w.raw(b, align)
	w.seen[string(b)] = off
	return off
}

func (w *Writer) raw(b []byte, align int) uint32 {
	for len(w.buf)%align != 0 {
		w.buf = append(w.buf, 0)
	}
	off := len(w.buf)
	if off+len(b) > MaxPayload {
		if w.err == nil {
			w.err = fmt.Errorf("ADB payload would exceed %d bytes", MaxPayload)
		}
		return 0
	}
	w.buf = append(w.buf, b...)
	return uint32(off)
}

// Blob stores a string or binary value; an empty one is Null, as apk never stores it.
func (w *Writer) Blob(b []byte) Val {
	n := len(b)
	s := w.scratch[:0]
	var t Val
	align := 1
	switch {
	case n == 0:
		return Null
	case n <= 0xff:
		t, s = TypeBlob8, append(s, byte(n))
	case n <= 0xffff:
		t, s, align = TypeBlob16, binary.LittleEndian.AppendUint16(s, uint16(n)), 2
	default:
		t, s, align = TypeBlob32, binary.LittleEndian.AppendUint32(s, uint32(n)), 4
	}
	s = append(s, b...)
	w.scratch = s
	return t | Val(w.data(s, align))
}

// BlobUnshared stores b at a place of its own, not de-duplicated and not offered for
// de-duplication (apk's adb_w_blob_raw), so that it can be changed in the payload later.
func (w *Writer) BlobUnshared(b []byte) Val {
	if len(b) == 0 || len(b) > 0xff {
		return w.Blob(b) // only the ids apk writes this way (20 bytes) need it
	}
	return TypeBlob8 | Val(w.raw(append([]byte{byte(len(b))}, b...), 1))
}

// String stores a text value.
func (w *Writer) String(s string) Val { return w.Blob([]byte(s)) }

// Int stores a number: immediate below 2^28, else 32 or 64 bits in the heap.
func (w *Writer) Int(n uint64) Val {
	switch {
	case n < 1<<28:
		return TypeInt | Val(n)
	case n < 1<<32:
		return TypeInt32 | Val(w.data(binary.LittleEndian.AppendUint32(w.scratch[:0], uint32(n)), 4))
	default:
		return TypeInt64 | Val(w.data(binary.LittleEndian.AppendUint64(w.scratch[:0], n), 4))
	}
}

// Object stores an object whose slots[i] is field i+1, or an array whose slots are its elements,
// with the tag type t (TypeObject or TypeArray: apk writes TypeObject for most arrays too).
// Trailing Null slots are dropped, and with none left the result is Null.
func (w *Writer) Object(t Val, slots []Val) Val {
	n := len(slots)
	for n > 0 && slots[n-1] == Null {
		n--
	}
	if n == 0 {
		return Null
	}
	s := binary.LittleEndian.AppendUint32(w.scratch[:0], uint32(n+1))
	for _, v := range slots[:n] {
		s = binary.LittleEndian.AppendUint32(s, uint32(v))
	}
	w.scratch = s
	return t | Val(w.data(s, 4))
}

// Copy stores value v of src into the payload, children first, as apk's adb_w_copy does. The
// count words of objects are copied as they are.
// A value shared by many parents is copied once per reference (the copies then de-duplicate),
// so the work is bounded by a count of values visited, not by the payload's size.
func (w *Writer) Copy(src DB, v Val) Val {
	budget := maxCopyValues
	return w.copy(src, v, 0, &budget)
}

const (
	maxDepth      = 32
	maxCopyValues = 1 << 20
)

func (w *Writer) copy(src DB, v Val, depth int, budget *int) Val {
	if w.err != nil {
		return Null
	}
	if depth > maxDepth {
		w.err = corrupt("values nested more than %d deep", maxDepth)
		return Null
	}
	if *budget--; *budget < 0 {
		w.err = corrupt("more than %d values to copy", maxCopyValues)
		return Null
	}
	switch v.Type() {
	case TypeSpecial, TypeInt:
		return v
	case TypeArray, TypeObject:
		o, err := src.Obj(v)
		if err != nil {
			w.err = err
			return Null
		}
		count := o.Len()
		if len(o.words) == 0 {
			return Null
		}
		slots := make([]Val, count)
		for i := 1; i < count; i++ {
			slots[i] = w.copy(src, o.Val(i), depth+1, budget)
		}
		s := make([]byte, 0, 4*count)
		s = append(s, o.words[:4]...)
		for _, c := range slots[1:] {
			s = binary.LittleEndian.AppendUint32(s, uint32(c))
		}
		return v.Type() | Val(w.data(s, 4))
	}
	size, align, err := src.rawSize(v)
	if err != nil {
		w.err = err
		return Null
	}
	b, err := src.at(v, size)
	if err != nil {
		w.err = err
		return Null
	}
	return v.Type() | Val(w.data(b, int(align)))
}

// Payload sets the root value and returns the finished payload. The Writer must not be used after.
func (w *Writer) Payload(root Val) ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	binary.LittleEndian.PutUint32(w.buf[4:], uint32(root))
	return w.buf, nil
}
