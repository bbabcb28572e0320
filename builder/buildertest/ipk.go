package buildertest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Control is the control stanza of a test package.
type Control struct {
	Package, Version, Arch, Description string
	Depends                             string
}

// IPK makes a real .ipk: a gzipped tar of ./debian-binary, ./data.tar.gz and ./control.tar.gz, in
// that order, with files (path → content) in the data archive.
func IPK(c Control, files map[string]string) ([]byte, error) {
	var ctl strings.Builder
	fmt.Fprintf(&ctl, "Package: %s\nVersion: %s\n", c.Package, c.Version)
	if c.Depends != "" {
		fmt.Fprintf(&ctl, "Depends: %s\n", c.Depends)
	}
	fmt.Fprintf(&ctl, "Section: utils\nArchitecture: %s\nInstalled-Size: 1024\nDescription:  %s\n", c.Arch, c.Description)
	control, err := tgz(map[string]string{"./control": ctl.String()})
	if err != nil {
		return nil, err
	}
	dataFiles := map[string]string{}
	for p, content := range files {
		dataFiles["./"+strings.TrimPrefix(p, "/")] = content
	}
	data, err := tgz(dataFiles)
	if err != nil {
		return nil, err
	}
	return tgzOrdered([]string{"./debian-binary", "./data.tar.gz", "./control.tar.gz"},
		map[string]string{"./debian-binary": "2.0\n", "./data.tar.gz": string(data), "./control.tar.gz": string(control)})
}

func tgz(files map[string]string) ([]byte, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	return tgzOrdered(names, files)
}

func tgzOrdered(names []string, files map[string]string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		mode := int64(0o644)
		if strings.HasPrefix(files[n], "#!") {
			mode = 0o755
		}
		h := &tar.Header{Name: n, Mode: mode, Size: int64(len(files[n])), ModTime: time.Unix(1700000000, 0), Format: tar.FormatGNU}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
