package adb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Val is a value's 32-bit tag: its type in the top four bits, an immediate value or a payload
// offset in the other 28.
type Val uint32

// The value types (the tag's top nibble).
const (
	TypeSpecial Val = 0x0 << 28
	TypeInt     Val = 0x1 << 28
	TypeInt32   Val = 0x2 << 28
	TypeInt64   Val = 0x3 << 28
	TypeBlob8   Val = 0x8 << 28
	TypeBlob16  Val = 0x9 << 28
	TypeBlob32  Val = 0xA << 28
	TypeArray   Val = 0xD << 28
	TypeObject  Val = 0xE << 28
)

// Null is the empty value: a missing field, an empty string, an object with no field set.
const Null Val = 0

const valueMask = 1<<28 - 1

// MaxPayload is the largest ADB block payload: offsets have 28 bits.
const MaxPayload = 1 << 28

// Type is v's type nibble, as one of the Type constants.
func (v Val) Type() Val { return v &^ valueMask }

// Value is v's low 28 bits: the immediate integer or the payload offset.
func (v Val) Value() uint32 { return uint32(v & valueMask) }

// IsObject reports whether v is an object or an array (readers do not tell them apart).
func (v Val) IsObject() bool { t := v.Type(); return t == TypeObject || t == TypeArray }

// ErrCorrupt is wrapped by every error about a malformed ADB payload.
var ErrCorrupt = errors.New("corrupt ADB data")

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

// DB is an ADB block payload to read values from: an 8-byte header (compat version, version,
// root tag) and the heap. Every read checks its bounds: a malformed payload gives an error, never
// a panic or a read outside it.
type DB []byte

// Check verifies the header: long enough, and a compatibility version apk accepts.
func (db DB) Check() error {
	if len(db) < 8 {
		return corrupt("ADB block of %d bytes is shorter than its 8-byte header", len(db))
	}
	if db[0] != 0 {
		return corrupt("ADB compatibility version %d is not 0", db[0])
	}
	return nil
}

// Root is the root value (Null when the header is missing).
func (db DB) Root() Val {
	if len(db) < 8 {
		return Null
	}
	return Val(binary.LittleEndian.Uint32(db[4:]))
}

func (db DB) at(v Val, n uint32) ([]byte, error) {
	off := v.Value()
	if uint64(off)+uint64(n) > uint64(len(db)) {
		return nil, corrupt("value at offset %d (%d bytes) runs past the end of the %d-byte block", off, n, len(db))
	}
	return db[off : off+n], nil
}

// Int reads a number (Null is 0).
func (db DB) Int(v Val) (uint64, error) {
	switch v.Type() {
	case TypeSpecial:
		if v == Null {
			return 0, nil
		}
	case TypeInt:
		return uint64(v.Value()), nil
	case TypeInt32:
		b, err := db.at(v, 4)
		if err != nil {
			return 0, err
		}
		return uint64(binary.LittleEndian.Uint32(b)), nil
	case TypeInt64:
		b, err := db.at(v, 8)
		if err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b), nil
	}
	return 0, corrupt("value 0x%08x is not a number", uint32(v))
}

// Blob reads a string or binary value (Null is empty). The result aliases db.
func (db DB) Blob(v Val) ([]byte, error) {
	if v == Null {
		return nil, nil
	}
	hdr := blobHeader(v.Type())
	if hdr == 0 {
		return nil, corrupt("value 0x%08x is not a string", uint32(v))
	}
	b, err := db.at(v, hdr)
	if err != nil {
		return nil, err
	}
	var n uint32
	switch hdr {
	case 1:
		n = uint32(b[0])
	case 2:
		n = uint32(binary.LittleEndian.Uint16(b))
	default:
		n = binary.LittleEndian.Uint32(b)
	}
	if uint64(v.Value())+uint64(hdr)+uint64(n) > uint64(len(db)) {
		return nil, corrupt("string at offset %d (%d bytes) runs past the end of the block", v.Value(), n)
	}
	off := v.Value() + hdr
	return db[off : off+n : off+n], nil
}

// rawSize is how many heap bytes v's own data takes (0 for immediates), as apk copies it.
func (db DB) rawSize(v Val) (size, align uint32, err error) {
	switch v.Type() {
	case TypeSpecial, TypeInt:
		return 0, 1, nil
	case TypeInt32:
		return 4, 4, nil
	case TypeInt64:
		return 8, 8, nil // apk's copy aligns 64-bit numbers to 8, its writer to 4
	case TypeBlob8, TypeBlob16, TypeBlob32:
		b, err := db.Blob(v)
		if err != nil {
			return 0, 0, err
		}
		hdr := blobHeader(v.Type())
		return hdr + uint32(len(b)), hdr, nil
	}
	return 0, 0, corrupt("value 0x%08x has an unknown type", uint32(v))
}

// Obj is an object or array read from a DB: slot i holds field i (or element i), 1-based.
type Obj struct {
	db    DB
	words []byte // the count word and the slots
}

// Obj reads an object or array (Null is empty).
func (db DB) Obj(v Val) (Obj, error) {
	if v == Null {
		return Obj{db: db}, nil
	}
	if !v.IsObject() {
		return Obj{}, corrupt("value 0x%08x is not an object", uint32(v))
	}
	b, err := db.at(v, 4)
	if err != nil {
		return Obj{}, err
	}
	n := binary.LittleEndian.Uint32(b)
	if n == 0 {
		return Obj{db: db}, nil // apk reads a zero count as empty
	}
	if uint64(n)*4 > uint64(len(db)) {
		return Obj{}, corrupt("object at offset %d claims %d slots", v.Value(), n)
	}
	w, err := db.at(v, n*4)
	if err != nil {
		return Obj{}, err
	}
	return Obj{db: db, words: w}, nil
}

// Len is the object's slot count plus one (its count word), as stored: 1 for an empty object.
func (o Obj) Len() int {
	if len(o.words) == 0 {
		return 1
	}
	return len(o.words) / 4
}

// Elems is the number of array elements (Len - 1).
func (o Obj) Elems() int { return o.Len() - 1 }

// Val is slot i (Null beyond the end).
func (o Obj) Val(i int) Val {
	if i <= 0 || i >= o.Len() {
		return Null
	}
	return Val(binary.LittleEndian.Uint32(o.words[4*i:]))
}

// DB is the payload o was read from.
func (o Obj) DB() DB { return o.db }

// Int, Blob and Obj read slot i.
func (o Obj) Int(i int) (uint64, error)  { return o.db.Int(o.Val(i)) }
func (o Obj) Blob(i int) ([]byte, error) { return o.db.Blob(o.Val(i)) }
func (o Obj) Obj(i int) (Obj, error)     { return o.db.Obj(o.Val(i)) }

// blobHeader is the length prefix's size of a blob type (0 for other types).
func blobHeader(t Val) uint32 {
	switch t {
	case TypeBlob8:
		return 1
	case TypeBlob16:
		return 2
	case TypeBlob32:
		return 4
	}
	return 0
}
