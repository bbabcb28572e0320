package feeds

import (
	"bytes"
	"compress/gzip"
	"fmt"
)

// gzipBytes compresses b as `gzip -9n` would: best compression, no file name, zero mtime. The
// compressed bytes may differ from GNU gzip's; the decompressed bytes are b.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	zw.OS = 3 // Unix, as GNU gzip writes
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}
