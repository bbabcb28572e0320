package forgetest_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

// The fake GitHub is only as good as its validator: it must refuse what GitHub refuses. The
// project's own description and GitHub's (the shared corpus) must both do so.
func TestSpecValidate(t *testing.T) {
	t.Run("project", func(t *testing.T) {
		spec, err := forgetest.ProjectSpec()
		if err != nil {
			t.Fatal(err)
		}
		checkSpec(t, spec)
	})
	t.Run("shared", func(t *testing.T) {
		spec, err := forgetest.LoadSpec(filepath.Join(forgetest.SharedTestdata(t, "api"), "github-openapi-subset.json"))
		if err != nil {
			t.Fatal(err)
		}
		checkSpec(t, spec)
	})
}

func checkSpec(t *testing.T, spec *forgetest.Spec) {
	const create, update = "/repos/o/r/check-runs", "/repos/o/r/check-runs/5"
	long := strings.Repeat("x", 65536)
	cases := []struct {
		name, method, path, body string
		ok                       bool
	}{
		{"create queued", "POST", create, `{"name":"n","head_sha":"abc","status":"queued"}`, true},
		{"create without head_sha", "POST", create, `{"name":"n"}`, false},
		{"create with a bad status", "POST", create, `{"name":"n","head_sha":"a","status":"done"}`, false},
		{"update completed without conclusion", "PATCH", update, `{"status":"completed"}`, false},
		{"update completed", "PATCH", update, `{"status":"completed","conclusion":"success","completed_at":"2026-11-27T01:02:03Z"}`, true},
		{"update with a bad conclusion", "PATCH", update, `{"conclusion":"passed"}`, false},
		{"summary over the limit", "PATCH", update, `{"output":{"title":"t","summary":"` + long + `"}}`, false},
		{"output without summary", "PATCH", update, `{"output":{"title":"t"}}`, false},
		{"51 annotations", "PATCH", update, `{"output":{"title":"t","summary":"s","annotations":[` +
			strings.TrimSuffix(strings.Repeat(`{"path":"p","start_line":1,"end_line":1,"annotation_level":"failure","message":"m"},`, 51), ",") + `]}}`, false},
		{"annotation with a bad level", "PATCH", update, `{"output":{"title":"t","summary":"s","annotations":[{"path":"p","start_line":1,"end_line":1,"annotation_level":"error","message":"m"}]}}`, false},
		{"bad date", "PATCH", update, `{"completed_at":"yesterday","conclusion":"success"}`, false},
		{"comment", "POST", "/repos/o/r/issues/3/comments", `{"body":"hi"}`, true},
		{"comment without body", "POST", "/repos/o/r/issues/3/comments", `{}`, false},
		{"reaction", "POST", "/repos/o/r/issues/comments/9/reactions", `{"content":"eyes"}`, true},
		{"reaction not in GitHub's list", "POST", "/repos/o/r/issues/comments/9/reactions", `{"content":"thumbsup"}`, false},
		{"token request", "POST", "/app/installations/7/access_tokens", `{}`, true},
		{"token request with body null", "POST", "/app/installations/7/access_tokens", `null`, false},
		{"a body to an operation not in the subset", "POST", "/repos/o/r/pulls", `{"title":"x"}`, false},
		{"a GET not in the subset", "GET", "/repos/o/r/pulls/3", ``, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := spec.Validate(c.method, c.path, []byte(c.body))
			if (err == nil) != c.ok {
				t.Fatalf("Validate = %v, want ok=%v", err, c.ok)
			}
		})
	}
	if op := spec.Operation("POST", "/repos/o/r/issues/comments/9/reactions"); op != "reactions/create-for-issue-comment" {
		t.Errorf("operation %q: a literal path segment must win over a template", op)
	}
}
