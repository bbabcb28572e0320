package feedstest

import (
	"fmt"
	"os"
	"path/filepath"
)

// GeneratedName is the name of the i-th generated package.
func GeneratedName(i int) string { return fmt.Sprintf("pkg%05d", i) }

// WriteFeed writes n generated packages for arch into dir, each with a payload of payload bytes,
// and returns their file names.
func WriteFeed(dir string, n int, arch string, payload int) ([]string, error) {
	names := make([]string, 0, n)
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for i := range n {
		name := GeneratedName(i)
		file := fmt.Sprintf("%s_1.0.%d-r1_%s.ipk", name, i%7, arch)
		ipk := IPK(Control(name, fmt.Sprintf("1.0.%d-r1", i%7), arch), data)
		if err := os.WriteFile(filepath.Join(dir, file), ipk, 0o644); err != nil {
			return nil, fmt.Errorf("writing generated package: %w", err)
		}
		names = append(names, file)
	}
	return names, nil
}
