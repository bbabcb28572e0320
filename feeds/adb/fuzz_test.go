package adb_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// walk reads every value reachable from v, as a consumer would, without a schema.
func walk(db adb.DB, v adb.Val, depth int, budget *int) {
	if *budget--; depth > 40 || *budget < 0 {
		return
	}
	switch {
	case v.IsObject():
		o, err := db.Obj(v)
		if err != nil {
			return
		}
		for i := 1; i < o.Len() && i < 4096; i++ {
			walk(db, o.Val(i), depth+1, budget)
		}
	default:
		db.Blob(v)
		db.Int(v)
	}
}

// FuzzDecodeADB: no input makes the container reader or the value reader panic or read out of
// bounds, and what reads back is copied faithfully by the Writer.
func FuzzDecodeADB(f *testing.F) {
	w := adb.NewWriter()
	p, _ := w.Payload(w.Object(adb.TypeObject, []adb.Val{w.String("libc"), w.Int(1 << 30), w.Object(adb.TypeArray, []adb.Val{w.String("x")})}))
	plain := adb.Encode(adb.SchemaIndex, p, make([]byte, 20))
	comp, _ := adb.Compress(plain, 1)
	f.Add(plain)
	f.Add(comp)
	if real, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "testdata", "feeds", "apk-25.12-x86_64", "packages.adb")); err == nil {
		f.Add(real)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := adb.ReadFile(bytes.NewReader(data), adb.Limits{MaxADB: 1 << 20, MaxUnpacked: 4 << 20})
		if err != nil {
			return
		}
		db := adb.DB(file.ADB)
		budget := 100000
		walk(db, db.Root(), 0, &budget)
		for _, s := range file.Sigs {
			adb.ParseSig(s)
		}
		w := adb.NewWriter()
		if len(file.ADB) > 64<<10 {
			return // the copy's budget is for real indexes, not for the fuzzer's time
		}
		c := w.Copy(db, db.Root())
		if w.Err() != nil {
			return
		}
		out, err := w.Payload(c)
		if err != nil {
			return
		}
		// A copy of a value that reads cleanly reads the same.
		if c.IsObject() {
			a, err1 := db.Obj(db.Root())
			b, err2 := adb.DB(out).Obj(c)
			if err1 == nil && err2 == nil && a.Len() != b.Len() {
				t.Fatalf("copied object has %d slots, source %d", b.Len(), a.Len())
			}
		}
	})
}
