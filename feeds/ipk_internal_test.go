package feeds

import (
	"bytes"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// TestReaderReuseAfterErrors: one ipkReader reads package after package (as each indexing
// worker does); a refused or truncated package must not spoil the next read.
func TestReaderReuseAfterErrors(t *testing.T) {
	good := feedstest.IPK(feedstest.Control("good", "1", "all"), []byte("data"))
	inputs := [][]byte{
		good[:len(good)/2],
		[]byte("junk"),
		feedstest.IPK("Package: bad\nVersion: 1\nArchitecture: all\nFilename: x\n", nil),
		feedstest.ArIPK(feedstest.Control("old", "2", "all"), []byte("x")),
		good[:20],
	}
	var x ipkReader
	for i, in := range inputs {
		x.readPackage(bytes.NewReader(in), "in", 0)
		p, err := x.readPackage(bytes.NewReader(good), "good.ipk", 0)
		if err != nil || p.Control.Package != "good" || p.Size != int64(len(good)) {
			t.Fatalf("after input %d: %+v, %v", i, p, err)
		}
	}
}
