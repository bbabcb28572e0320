package feeds_test

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// sharedFeed returns the folder of the real 23.05.4 SDK feed in the project's shared test data,
// which sits beside the repository (../shared/testdata).
func sharedFeed(t testing.TB) string {
	t.Helper()
	return sharedTestdata(t, "feeds/sdk-23.05.4-mips_24kc")
}

func sharedTestdata(t testing.TB, rel string) string {
	t.Helper()
	if d := os.Getenv("OPENWRT_PPA_TESTDATA"); d != "" {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err != nil {
			testenv.MissingData(t, "shared test data "+rel, "the real feed "+p+" (from OPENWRT_PPA_TESTDATA); "+ownDataCover[rel])
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "..", "shared", "testdata", rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.MissingData(t, "shared test data "+rel, "the real feed ../shared/testdata/"+rel+" beside the repository (or OPENWRT_PPA_TESTDATA); "+ownDataCover[rel])
		}
		dir = parent
	}
}

// ownDataCover names the tests that cover, with feeds made here, the code a real feed's tests
// check: a skip says what is still tested.
var ownDataCover = map[string]string{
	"feeds/sdk-23.05.4-mips_24kc": "TestIndexDirOwnFeed covers the same code on a feed made here, without the byte comparison with the SDK",
	"feeds/apk-25.12-x86_64":      "TestAPKIndexOwnPackages, TestWriteReadAPK and TestReadAPKRefuses cover the same code on packages made here, without the byte comparison with apk mkndx",
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
