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
		return filepath.Join(d, rel)
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
			testenv.Missing(t, "shared test data", "../shared/testdata beside the repository (or OPENWRT_PPA_TESTDATA)")
		}
		dir = parent
	}
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
