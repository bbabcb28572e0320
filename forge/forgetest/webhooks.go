package forgetest

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"
)

// The project's own webhook bodies and API description (see testdata/webhooks/README.md):
// embedded, so a test in any package reads them without knowing where forgetest lies.
//
//go:embed testdata/webhooks testdata/github-rest.json
var own embed.FS

// Payload returns the project-made webhook body forge/name (e.g. "github/push/branch-updated.json",
// "gitlab/push.json").
func Payload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := own.ReadFile(path.Join("testdata/webhooks", name))
	if err != nil {
		t.Fatalf("forgetest: no project-made payload %s: %v", name, err)
	}
	return b
}

// Payloads lists the project-made bodies of one forge ("github" or "gitlab"), as names
// Payload takes, sorted.
func Payloads(t testing.TB, forgeName string) []string {
	t.Helper()
	var out []string
	root := path.Join("testdata/webhooks", forgeName)
	err := fs.WalkDir(own, root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".json") {
			out = append(out, strings.TrimPrefix(p, "testdata/webhooks/"))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// GitLabEvent is the X-Gitlab-Event header GitLab sends with a body named like those in
// testdata/webhooks/gitlab and in the shared corpus (push.json, note_commit.json, …).
func GitLabEvent(file string) string {
	base := strings.TrimSuffix(path.Base(file), ".json")
	switch {
	case strings.HasPrefix(base, "tag_push"):
		return "Tag Push Hook"
	case strings.HasPrefix(base, "push"):
		return "Push Hook"
	case strings.HasPrefix(base, "note"):
		return "Note Hook"
	case strings.Contains(base, "merge_request"):
		return "Merge Request Hook"
	case strings.HasPrefix(base, "pipeline"):
		return "Pipeline Hook"
	case base == "job", base == "build":
		return "Job Hook"
	}
	return ""
}

// ProjectSpec is the project's own description of the GitHub REST operations it calls
// (testdata/github-rest.json, written from GitHub's REST reference).
func ProjectSpec() (*Spec, error) {
	raw, err := own.ReadFile("testdata/github-rest.json")
	if err != nil {
		return nil, err
	}
	return parseSpec("github-rest.json", raw)
}
