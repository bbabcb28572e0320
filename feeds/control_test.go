package feeds_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

const goodControl = "Package: foo\nVersion: 1.2-1\nArchitecture: mips_24kc\nDescription:  foo\n  more\n"

func TestParseControlAccepts(t *testing.T) {
	cases := map[string]struct {
		in   string
		text string
	}{
		"plain":                 {goodControl, goodControl},
		"trailing newlines":     {goodControl + "\n\n", goodControl},
		"no final newline":      {strings.TrimSuffix(goodControl, "\n"), goodControl},
		"blank description row": {"Package: a\nVersion: 1\nArchitecture: all\nDescription: x\n \n y\n", "Package: a\nVersion: 1\nArchitecture: all\nDescription: x\n \n y\n"},
		"epoch and tilde":       {"Package: a+b.c-d\nVersion: 2:1.0~rc1-r3\nArchitecture: aarch64_cortex-a53\n", "Package: a+b.c-d\nVersion: 2:1.0~rc1-r3\nArchitecture: aarch64_cortex-a53\n"},
		"utf-8 and tab inside":  {"Package: a\nVersion: 1\nArchitecture: all\nDescription: café\tbar\n", "Package: a\nVersion: 1\nArchitecture: all\nDescription: café\tbar\n"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := feeds.ParseControl([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(c.Text()) != tc.text {
				t.Errorf("text = %q, want %q", c.Text(), tc.text)
			}
		})
	}
	c, _ := feeds.ParseControl([]byte(goodControl))
	if c.Package != "foo" || c.Version != "1.2-1" || c.Architecture != "mips_24kc" || c.Get("description") != "foo\n  more" {
		t.Errorf("fields: %+v / %q", c, c.Get("Description"))
	}
}

func TestParseControlRefuses(t *testing.T) {
	base := "Package: foo\nVersion: 1\nArchitecture: all\n"
	cases := map[string]struct {
		in    string
		field string // the field the error must name ("" when it names a line only)
		want  string
	}{
		"forged stanza by blank line": {base + "Description: x\n\nPackage: evil\nVersion: 9\n", "", "blank line"},
		"forged field by newline":     {base + "Depends: x\nFilename: ../../etc/passwd\n", "Filename", "written by the index"},
		"forged sha256":               {base + "SHA256sum: 00\n", "SHA256sum", "written by the index"},
		"size set by package":         {base + "size: 1\n", "size", "written by the index"},
		"NUL":                         {base + "Description: a\x00b\n", "", "NUL"},
		"CR":                          {base + "Description: a\r\n", "", "carriage return"},
		"escape character":            {base + "Description: \x1b[31m\n", "", "control character"},
		"tab continuation":            {base + "Description: a\n\tb\n", "", "control character"},
		"continuation of Depends":     {base + "Depends: a\n b\n", "Depends", "only in Description"},
		"continuation first":          {" x\n" + base, "", "before any field"},
		"not a field":                 {base + "garbage\n", "", "not a \"Field: value\""},
		"bad field name":              {base + "Dep_ends: a\n", "", "field name"},
		"duplicate field":             {base + "package: bar\n", "package", "twice"},
		"missing Package":             {"Version: 1\nArchitecture: all\n", "Package", "missing"},
		"missing Version":             {"Package: a\nArchitecture: all\n", "Version", "missing"},
		"missing Architecture":        {"Package: a\nVersion: 1\n", "Architecture", "missing"},
		"name with underscore":        {"Package: a_b\nVersion: 1\nArchitecture: all\n", "Package", "holds \"_\""},
		"name with slash":             {"Package: ../a\nVersion: 1\nArchitecture: all\n", "Package", "start with"},
		"name with space":             {"Package: a b\nVersion: 1\nArchitecture: all\n", "Package", "holds"},
		"name with quote":             {"Package: a\"b\nVersion: 1\nArchitecture: all\n", "Package", "holds"},
		"version with slash":          {"Package: a\nVersion: 1/2\nArchitecture: all\n", "Version", "holds"},
		"bad epoch":                   {"Package: a\nVersion: x:1\nArchitecture: all\n", "Version", "epoch"},
		"arch with dot":               {"Package: a\nVersion: 1\nArchitecture: x.y\n", "Architecture", "holds"},
		"long name":                   {"Package: " + strings.Repeat("a", 200) + "\nVersion: 1\nArchitecture: all\n", "Package", "over the limit"},
		"oversized":                   {base + "Description: " + strings.Repeat("x", feeds.MaxControlSize) + "\n", "", "over the limit"},
		"invalid utf-8":               {base + "Description: \xff\n", "", "UTF-8"},
		"empty":                       {"\n\n", "", "empty"},
		"too many fields":             {base + manyFields(120), "", "more than"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := feeds.ParseControl([]byte(tc.in))
			var ce *feeds.ControlError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *ControlError", err)
			}
			if !strings.Contains(err.Error(), tc.want) || ce.Field != tc.field {
				t.Fatalf("got %q (field %q), want it to contain %q and name field %q", err, ce.Field, tc.want, tc.field)
			}
		})
	}
}

func manyFields(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("X-F")
		b.WriteString(strings.Repeat("a", i%50+1))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(": v\n")
	}
	return b.String()
}

func TestReadIPKContainers(t *testing.T) {
	ctl := feedstest.Control("demo", "1.0-1", "x86_64")
	cases := map[string][]byte{
		"gzip tar": feedstest.IPK(ctl, []byte("payload")),
		"ar":       feedstest.ArIPK(ctl, []byte("odd payload")),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := feeds.ReadIPK(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if c.Package != "demo" || string(c.Text()) != ctl {
				t.Errorf("got %q", c.Text())
			}
		})
	}
}

func TestReadIPKRefuses(t *testing.T) {
	ctl := feedstest.Control("demo", "1.0-1", "x86_64")
	good := feedstest.IPK(ctl, nil)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":               {nil, "too short"},
		"text file":           {[]byte("hello world, not a package"), "neither"},
		"truncated":           {good[:len(good)/2], "not an ipk"},
		"no control":          {feedstest.TarGz(feedstest.File{Name: "./debian-binary", Data: []byte("2.0\n")}, feedstest.File{Name: "./data.tar.gz", Data: feedstest.TarGz()}), "no control.tar.gz"},
		"wrong debian-binary": {feedstest.TarGz(feedstest.File{Name: "./debian-binary", Data: []byte("3.0\n")}), "debian-binary holds"},
		"extra member":        {feedstest.TarGz(feedstest.File{Name: "./evil.sh", Data: []byte("x")}), "unexpected member"},
		"bad control":         {feedstest.IPK("Package: a\nVersion: 1\nArchitecture: all\nFilename: x\n", nil), "written by the index"},
		"control missing":     {feedstest.TarGz(feedstest.File{Name: "./debian-binary", Data: []byte("2.0\n")}, feedstest.File{Name: "./data.tar.gz", Data: feedstest.TarGz()}, feedstest.File{Name: "./control.tar.gz", Data: feedstest.TarGz(feedstest.File{Name: "./postinst", Data: []byte("#!/bin/sh")})}), "no control file"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := feeds.ReadIPK(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
