// Package forgetest holds fakes of the GitHub and GitLab APIs (httptest servers that record
// and check every request) and helpers for tests of code that talks to forges. Later
// end-to-end tests of the service use them too.
package forgetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// SharedTestdata returns the path of ../shared/testdata/<parts…> beside the repository (the
// project's real-world test data), looking upward from the test's directory. When it is not
// there the test skips loudly (fails under CI).
func SharedTestdata(t testing.TB, parts ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		p := filepath.Join(append([]string{dir, "shared", "testdata"}, parts...)...)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.Missing(t, "shared/testdata", "the project's shared test data was not found beside the repository")
			return ""
		}
		dir = parent
	}
}
