package feeds_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// FuzzParseControl checks that whatever ParseControl accepts is safe to paste into an index: one
// stanza, no blank line, no control characters, and stable when parsed again.
func FuzzParseControl(f *testing.F) {
	f.Add([]byte(goodControl))
	f.Add([]byte(feedstest.Control("pkg", "1.0-1", "all")))
	f.Add([]byte("Package: a\nVersion: 1\nArchitecture: all\nDescription: x\n\nPackage: b\n"))
	f.Add([]byte("Package: a\nVersion: 1:2~3\nArchitecture: all\nDescription: x\n \n y\r\n"))
	if m, err := filepath.Glob(filepath.Join(sharedTestdataOrEmpty(), "*.ipk")); err == nil {
		for _, p := range m {
			if data, err := os.ReadFile(p); err == nil {
				if c, err := feeds.ReadIPK(bytes.NewReader(data)); err == nil {
					f.Add(c.Text())
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := feeds.ParseControl(data)
		if err != nil {
			return
		}
		text := c.Text()
		if bytes.Contains(text, []byte("\n\n")) || !bytes.HasSuffix(text, []byte("\n")) || bytes.ContainsAny(text, "\x00\r") {
			t.Fatalf("accepted text can break an index: %q", text)
		}
		again, err := feeds.ParseControl(text)
		if err != nil || !bytes.Equal(again.Text(), text) {
			t.Fatalf("not stable: %v", err)
		}
		st := feeds.ManifestStanza(feeds.Package{Filename: "x.ipk", Size: 1, SHA256: strings.Repeat("0", 64), Control: c})
		if n := bytes.Count(st, []byte("\n\n")); n != 1 || bytes.Count(st, []byte("\nFilename: ")) != 1 && !bytes.HasPrefix(st, []byte("Filename: ")) {
			t.Fatalf("stanza is not exactly one entry with one Filename: %q", st)
		}
	})
}

// FuzzReadIPK feeds arbitrary bytes to the package reader: it must not panic, and what it accepts
// must be a valid control stanza.
func FuzzReadIPK(f *testing.F) {
	ctl := feedstest.Control("demo", "1.0-1", "x86_64")
	f.Add(feedstest.IPK(ctl, []byte("payload")))
	f.Add(feedstest.ArIPK(ctl, []byte("payload")))
	f.Add([]byte("!<arch>\n"))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3})
	if m, err := filepath.Glob(filepath.Join(sharedTestdataOrEmpty(), "gl-e750-mcu-oled_*.ipk")); err == nil {
		for _, p := range m {
			if data, err := os.ReadFile(p); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := feeds.ReadIPK(bytes.NewReader(data))
		if err != nil {
			return
		}
		if _, err := feeds.ParseControl(c.Text()); err != nil {
			t.Fatalf("accepted a package whose control does not parse again: %v", err)
		}
	})
}

// sharedTestdataOrEmpty is the real feed folder when present (for seeds), else "".
func sharedTestdataOrEmpty() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		p := filepath.Join(dir, "..", "shared", "testdata", "feeds", "sdk-23.05.4-mips_24kc")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
		dir = filepath.Dir(dir)
	}
}
