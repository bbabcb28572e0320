// Package feedstest makes real .ipk packages and feeds for tests: gzipped-tar and ar packages with
// a given control file, and generated feeds of many packages (feeds/apktest makes .apk ones).
package feedstest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"time"
)

// epoch is the fixed time stamp of generated archives, so that a package's bytes depend only on
// its contents.
var epoch = time.Date(2024, 8, 3, 13, 18, 0, 0, time.UTC)

// File is one file of a tar archive.
type File struct {
	Name string
	Data []byte
	Mode int64 // 0 means 0644
}

// TarGz returns a gzipped tar holding files, in order.
func TarGz(files ...File) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: f.Name, Mode: mode, Size: int64(len(f.Data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatGNU}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// IPK returns a package as the OpenWrt SDK writes it: a gzipped tar of ./debian-binary,
// ./data.tar.gz and ./control.tar.gz, with control as its control file and data as one file of
// its payload.
func IPK(control string, data []byte) []byte {
	return TarGz(ipkMembers(control, data)...)
}

func ipkMembers(control string, data []byte) []File {
	ctl := TarGz(File{Name: "./control", Data: []byte(control)})
	payload := TarGz(File{Name: "./usr/share/payload", Data: data})
	return []File{
		{Name: "./debian-binary", Data: []byte("2.0\n")},
		{Name: "./data.tar.gz", Data: payload},
		{Name: "./control.tar.gz", Data: ctl},
	}
}

// ArIPK returns the same package in the old ar container.
func ArIPK(control string, data []byte) []byte {
	var buf bytes.Buffer
	buf.WriteString("!<arch>\n")
	for _, m := range ipkMembers(control, data) {
		name := m.Name[2:] + "/"
		fmt.Fprintf(&buf, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, epoch.Unix(), 0, 0, "100644", len(m.Data))
		buf.Write(m.Data)
		if len(m.Data)%2 == 1 {
			buf.WriteByte('\n')
		}
	}
	return buf.Bytes()
}

// Control returns a control file like the SDK's for a package.
func Control(name, version, arch string) string {
	return fmt.Sprintf(`Package: %[1]s
Version: %[2]s
Depends: libc, libubus20230605, libubox20230523
Source: feeds/ppa/%[1]s
SourceName: %[1]s
License: GPL-2.0-or-later
LicenseFiles: LICENSE
Section: net
SourceDateEpoch: 1722691115
Maintainer: A Maintainer <maintainer@example.org>
Architecture: %[3]s
Installed-Size: 4096
Description:  %[1]s is a generated package for tests.
 It has a second line of description.
`, name, version, arch)
}
