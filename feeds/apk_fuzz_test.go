package feeds_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
)

// FuzzReadAPK: whatever ReadAPK accepts goes into an index that reads back with the same
// metadata, and never panics on the way.
func FuzzReadAPK(f *testing.F) {
	f.Add(writeAPK(f, sampleSpec()))
	f.Add(rawAPK(f, func(w *adb.Writer, s []adb.Val) {
		d := w.Object(adb.TypeObject, []adb.Val{w.String("libc"), w.String("1.0"), w.Int(5)})
		s[adb.InfoDepends-1] = w.Object(adb.TypeObject, []adb.Val{d, d})
	}))
	if dir := sharedTestdataOrEmpty(); dir != "" {
		small, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "apk-25.12-x86_64", "gpio*.apk"))
		for _, p := range small {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := feeds.ReadAPK(bytes.NewReader(data), "x.apk", 1<<20)
		if err != nil {
			return
		}
		ix, err := feeds.BuildAPKIndex(context.Background(), []feeds.APKPackage{p}, feeds.APKIndexOptions{Arch: "x86_64"})
		if err != nil {
			t.Fatalf("accepted package cannot be indexed: %v", err)
		}
		_, entries, err := feeds.ReadAPKIndex(bytes.NewReader(ix.File))
		if err != nil {
			t.Fatalf("index of an accepted package does not read back: %v", err)
		}
		want := p.Info
		want.FileSize = uint64(len(data))
		if len(entries) != 1 || !reflect.DeepEqual(entries[0].Info, want) || entries[0].Identity != p.Identity {
			t.Fatalf("index entry %+v, want %+v", entries, want)
		}
	})
}
