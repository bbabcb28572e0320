package adb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// TestWriterLayout checks the layout rules apk's writer follows, against the worked example of
// formats/apk-v3.md §4: blobs with the smallest length prefix, numbers immediate below 2^28,
// trailing Null slots dropped, identical values stored once, alignment.
func TestWriterLayout(t *testing.T) {
	w := adb.NewWriter()
	a := w.String("libc")
	if a != adb.TypeBlob8|8 {
		t.Fatalf("first blob tag %#x, want BLOB8 at 8", a)
	}
	if b := w.String("libc"); b != a {
		t.Errorf("the same string was stored twice: %#x, %#x", a, b)
	}
	if w.String("") != adb.Null {
		t.Error("an empty string is not Null")
	}
	long := w.Blob(bytes.Repeat([]byte("x"), 300))
	if long.Type() != adb.TypeBlob16 || long.Value()%2 != 0 {
		t.Errorf("300-byte blob %#x: want BLOB16, 2-aligned", long)
	}
	if v := w.Int(5); v != adb.TypeInt|5 {
		t.Errorf("Int(5) = %#x", v)
	}
	big := w.Int(1778443491)
	if big.Type() != adb.TypeInt32 || big.Value()%4 != 0 {
		t.Errorf("Int(1778443491) = %#x, want INT32, 4-aligned", big)
	}
	huge := w.Int(1 << 40)
	if huge.Type() != adb.TypeInt64 {
		t.Errorf("Int(2^40) = %#x", huge)
	}
	obj := w.Object(adb.TypeObject, []adb.Val{a, adb.Null, big, adb.Null, adb.Null})
	if w.Object(adb.TypeObject, []adb.Val{adb.Null, adb.Null}) != adb.Null {
		t.Error("an object with no slot set is not Null")
	}
	payload, err := w.Payload(obj)
	if err != nil {
		t.Fatal(err)
	}
	db := adb.DB(payload)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	o, err := db.Obj(db.Root())
	if err != nil {
		t.Fatal(err)
	}
	if o.Len() != 4 {
		t.Fatalf("object count word %d, want 4 (3 slots, trailing Nulls dropped)", o.Len())
	}
	s, _ := o.Blob(1)
	n, _ := o.Int(3)
	if string(s) != "libc" || n != 1778443491 || o.Val(2) != adb.Null || o.Val(9) != adb.Null {
		t.Errorf("read back %q %d", s, n)
	}
	for _, v := range []adb.Val{huge} {
		if x, err := db.Int(v); err != nil || x != 1<<40 {
			t.Errorf("Int64 read back %d, %v", x, err)
		}
	}
}

// TestCopyKeepsBytes: a value copied into another payload reads the same, with the source's
// count words, and copying twice stores it once.
func TestCopyKeepsBytes(t *testing.T) {
	src := adb.NewWriter()
	dep := src.Object(adb.TypeObject, []adb.Val{src.String("libc"), src.String("1.2"), src.Int(5)})
	arr := src.Object(adb.TypeArray, []adb.Val{dep, dep})
	payload, _ := src.Payload(arr)
	w := adb.NewWriter()
	c1 := w.Copy(adb.DB(payload), arr)
	c2 := w.Copy(adb.DB(payload), arr)
	if c1 != c2 || c1.Type() != adb.TypeArray {
		t.Fatalf("copies %#x %#x", c1, c2)
	}
	out, err := w.Payload(c1)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out[8:], payload[8:]) {
		t.Errorf("copied heap differs:\n%x\n%x", out[8:], payload[8:])
	}
}

func TestContainerRoundTrip(t *testing.T) {
	w := adb.NewWriter()
	payload, _ := w.Payload(w.Object(adb.TypeObject, []adb.Val{w.String("x")}))
	sig := adb.Sig{HashAlg: adb.HashSHA512, KeyID: adb.KeyID{1, 2, 3}, Sig: []byte("0123456789")}.Payload()
	plain := adb.Encode(adb.SchemaIndex, payload, sig, sig)
	comp, err := adb.Compress(plain, 9)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"ADB.": plain, "ADBd": comp} {
		f, err := adb.ReadFile(bytes.NewReader(data), adb.Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Compressed != name || f.Schema != adb.SchemaIndex || !bytes.Equal(f.ADB, payload) || len(f.Sigs) != 2 || !bytes.Equal(f.Sigs[1], sig) {
			t.Fatalf("%s: read %+v", name, f)
		}
		s, err := adb.ParseSig(f.Sigs[0])
		if err != nil || s.KeyID != (adb.KeyID{1, 2, 3}) || string(s.Sig) != "0123456789" {
			t.Fatalf("signature %+v %v", s, err)
		}
	}
	if len(plain)%8 != 0 {
		t.Errorf("blocks are not padded to 8 bytes: %d", len(plain))
	}
}

func TestReadFileRefuses(t *testing.T) {
	w := adb.NewWriter()
	payload, _ := w.Payload(w.String("x"))
	block := func(typ adb.BlockType, p []byte) []byte { return adb.AppendBlock(nil, typ, p) }
	hdr := adb.AppendHeader(nil, adb.SchemaPackage)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	sig := make([]byte, 20)
	data := make([]byte, 12)
	badMagic, _ := adb.Compress([]byte("XDB.indx"), 1)
	extHeader := binary.LittleEndian.AppendUint32(nil, 3<<30|7)
	cases := map[string]struct {
		data []byte
		lim  adb.Limits
		want string
	}{
		"empty":           {nil, adb.Limits{}, "not an apk v3"},
		"gzip":            {[]byte("\x1f\x8b\x08\x00...."), adb.Limits{}, "not an apk v3"},
		"no blocks":       {hdr, adb.Limits{}, "no ADB block"},
		"bad magic":       {badMagic, adb.Limits{}, "does not start with"},
		"sig first":       {join(hdr, block(adb.BlockSig, sig)), adb.Limits{}, "does not allow"},
		"data first":      {join(hdr, block(adb.BlockData, data)), adb.Limits{}, "before the ADB block"},
		"two ADB":         {join(hdr, block(adb.BlockADB, payload), block(adb.BlockADB, payload)), adb.Limits{}, "second ADB"},
		"sig after data":  {join(hdr, block(adb.BlockADB, payload), block(adb.BlockData, data), block(adb.BlockSig, sig)), adb.Limits{}, "does not allow"},
		"short ADB":       {join(hdr, block(adb.BlockADB, []byte{0, 0})), adb.Limits{}, "shorter than"},
		"compat version":  {join(hdr, block(adb.BlockADB, append([]byte{1}, payload[1:]...))), adb.Limits{}, "compatibility"},
		"truncated":       {join(hdr, block(adb.BlockADB, payload))[:20], adb.Limits{}, "EOF"},
		"undersized":      {join(hdr, []byte{2, 0, 0, 0}), adb.Limits{}, "smaller than its header"},
		"bad ext type":    {join(hdr, extHeader, make([]byte, 12)), adb.Limits{}, "unknown type"},
		"ADB over limit":  {join(hdr, block(adb.BlockADB, payload)), adb.Limits{MaxADB: 4}, "over the limit"},
		"too many sigs":   {join(hdr, block(adb.BlockADB, payload), block(adb.BlockSig, sig), block(adb.BlockSig, sig)), adb.Limits{MaxSigs: 1}, "more than 1"},
		"huge signature":  {join(hdr, block(adb.BlockADB, payload), block(adb.BlockSig, make([]byte, 3000))), adb.Limits{}, "apk's limit"},
		"unpacked limit":  {join(hdr, block(adb.BlockADB, payload), block(adb.BlockData, make([]byte, 4096))), adb.Limits{MaxUnpacked: 1024}, "limit"},
		"data without id": {join(hdr, block(adb.BlockADB, payload), block(adb.BlockData, []byte{1})), adb.Limits{}, "lacks its file index"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := adb.ReadFile(bytes.NewReader(c.data), c.lim)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	// An extended block header (for payloads over 1 GiB) is read like a plain one.
	ext := join(hdr, binary.LittleEndian.AppendUint32(nil, 3<<30|uint32(adb.BlockADB)), make([]byte, 4),
		binary.LittleEndian.AppendUint64(nil, uint64(16+len(payload))), payload)
	for len(ext)%8 != 0 {
		ext = append(ext, 0)
	}
	if f, err := adb.ReadFile(bytes.NewReader(ext), adb.Limits{}); err != nil || !bytes.Equal(f.ADB, payload) {
		t.Errorf("extended header: %v", err)
	}
}

func TestDBBounds(t *testing.T) {
	db := adb.DB(append(make([]byte, 8), 5, 'a'))
	if _, err := db.Blob(adb.TypeBlob8 | 8); !errors.Is(err, adb.ErrCorrupt) {
		t.Errorf("a blob running past the end: %v", err)
	}
	if _, err := db.Obj(adb.TypeObject | 6); !errors.Is(err, adb.ErrCorrupt) {
		t.Errorf("an object running past the end: %v", err)
	}
	if _, err := db.Int(adb.TypeBlob8 | 8); !errors.Is(err, adb.ErrCorrupt) {
		t.Errorf("a string read as a number: %v", err)
	}
	if o, err := db.Obj(adb.Null); err != nil || o.Len() != 1 {
		t.Errorf("Null object: %v, %d", err, o.Len())
	}
}
