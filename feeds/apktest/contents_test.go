package apktest_test

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
)

// TestReadContents reads back what WriteAPK wrote: files with their content (an empty one, a
// symlink), the scripts, and refuses a package over the limits.
func TestReadContents(t *testing.T) {
	spec := feeds.APKSpec{
		Info: feeds.APKInfo{Name: "confy", Version: "1.0-r1", Arch: "x86_64", Description: "d"},
		Files: []feeds.APKFile{
			{Path: "etc/config/confy", Data: []byte("config confy\n")},
			{Path: "etc/confy.d/empty"},
			{Path: "usr/bin/confy", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
			{Path: "usr/bin/c", Link: "confy"},
		},
		Scripts: map[string]string{"post-install": "#!/bin/sh\necho post\n", "pre-deinstall": "#!/bin/sh\n"},
	}
	var b bytes.Buffer
	if err := feeds.WriteAPK(context.Background(), &b, spec); err != nil {
		t.Fatal(err)
	}
	c, err := apktest.ReadContents(bytes.NewReader(b.Bytes()), adb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string][]byte{"etc/config/confy": []byte("config confy\n"), "etc/confy.d/empty": {}, "usr/bin/confy": []byte("#!/bin/sh\n"), "usr/bin/c": []byte("confy")}
	if !reflect.DeepEqual(c.Files, wantFiles) {
		t.Errorf("files %q, want %q", c.Files, wantFiles)
	}
	if !reflect.DeepEqual(c.Scripts, spec.Scripts) {
		t.Errorf("scripts %q, want %q", c.Scripts, spec.Scripts)
	}
	if _, err := apktest.ReadContents(bytes.NewReader(b.Bytes()), adb.Limits{MaxUnpacked: 64}); err == nil {
		t.Error("a package over MaxUnpacked was read")
	}
	if _, err := apktest.ReadContents(bytes.NewReader(b.Bytes()[:b.Len()-8]), adb.Limits{}); err == nil {
		t.Error("a truncated package was read")
	}
}
