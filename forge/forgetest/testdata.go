// Package forgetest holds fakes of the GitHub and GitLab APIs (httptest servers that record
// and check every request) and helpers for tests of code that talks to forges. Later
// end-to-end tests of the service use them too.
package forgetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// EnvTestdata names the folder that replaces ../shared/testdata when set (CI may keep the
// corpus elsewhere; pointing it at an empty folder shows what a lone clone tests).
const EnvTestdata = "OPENWRT_PPA_TESTDATA"

// corpusSource says, for a skip message, what each part of the shared corpus is and where it
// came from (its README beside it says the same at length).
var corpusSource = map[string]string{
	"webhooks/github":           "real GitHub webhook bodies (octokit/webhooks and go-playground/webhooks payload examples)",
	"webhooks/gitlab/client-go": "real GitLab webhook bodies (gitlab-org/api/client-go v1.46.0 testdata/webhooks)",
	"api":                       "GitHub's OpenAPI description cut to the operations the project calls (@octokit/openapi 23.0.2)",
}

// SharedTestdata returns the path of <corpus>/<parts…>, where the corpus is $OPENWRT_PPA_TESTDATA
// or else ../shared/testdata beside the repository (looked for upward from the test's
// directory). When it is not there the test skips loudly, saying what is missing and where it
// comes from (and fails under CI, which has the corpus).
func SharedTestdata(t testing.TB, parts ...string) string {
	t.Helper()
	p, ok := findShared(parts...)
	if !ok {
		rel := filepath.ToSlash(filepath.Join(parts...))
		what := "the project's real-world test corpus"
		for k, v := range corpusSource {
			if rel == k || strings.HasPrefix(rel, k+"/") {
				what = v
			}
		}
		where := "../shared/testdata/" + rel + " beside the repository"
		if d := os.Getenv(EnvTestdata); d != "" {
			where = filepath.Join(d, rel) + " (" + EnvTestdata + " is set)"
		}
		testenv.MissingData(t, "shared/testdata/"+rel, "no "+where+": "+what+
			"; the project-made bodies in forge/forgetest/testdata cover the same code")
	}
	return p
}

func findShared(parts ...string) (string, bool) {
	if d := os.Getenv(EnvTestdata); d != "" {
		p := filepath.Join(append([]string{d}, parts...)...)
		_, err := os.Stat(p)
		return p, err == nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(append([]string{dir, "shared", "testdata"}, parts...)...)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// SharedTestdataIfPresent is SharedTestdata without the skip, for tests that add the corpus to
// the project's own data (fuzz seeds, a second validator) rather than depend on it.
func SharedTestdataIfPresent(parts ...string) (string, bool) { return findShared(parts...) }
