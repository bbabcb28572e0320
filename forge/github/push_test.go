package github

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
)

// pushBodies are the push bodies both decoders are compared on: the project's own, variants
// that reach each branch of fromPush and each odd spelling GitHub has used, and, when it is
// there, every push of the real-world corpus.
func pushBodies(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range forgetest.Payloads(t, "github") {
		if strings.HasPrefix(name, "github/push/") {
			out[name] = forgetest.Payload(t, name)
		}
	}
	base := forgetest.Payload(t, "github/push/branch-updated.json")
	edit := func(name string, f func(doc map[string]any)) { out[name] = forgetest.Rewrite(t, base, f) }
	edit("pushed_at as RFC 3339", func(d map[string]any) { forgetest.Obj(t, d, "repository")["pushed_at"] = "2026-11-02T10:00:00Z" })
	edit("pushed_at in milliseconds", func(d map[string]any) { forgetest.Obj(t, d, "repository")["pushed_at"] = 1793613600123 })
	edit("pushed_at GitHub's old way", func(d map[string]any) { forgetest.Obj(t, d, "repository")["pushed_at"] = "2018-04-25 20:42:10" })
	edit("pushed_at null", func(d map[string]any) { forgetest.Obj(t, d, "repository")["pushed_at"] = nil })
	edit("owner by name only", func(d map[string]any) { forgetest.Obj(t, d, "repository")["owner"] = map[string]any{"name": "bob"} })
	edit("no owner", func(d map[string]any) { delete(forgetest.Obj(t, d, "repository"), "owner") })
	edit("no repository", func(d map[string]any) { delete(d, "repository") })
	edit("no sender nor installation", func(d map[string]any) { delete(d, "sender"); delete(d, "installation") })
	edit("head_commit null", func(d map[string]any) { d["head_commit"] = nil })
	edit("ref neither branch nor tag", func(d map[string]any) { d["ref"] = "refs/notes/commits" })
	edit("no commit id", func(d map[string]any) { d["after"] = "HEAD" })
	edit("deleted", func(d map[string]any) { d["deleted"] = true })
	edit("id a string", func(d map[string]any) { forgetest.Obj(t, d, "repository")["id"] = "12" })
	edit("commit author of the wrong type", func(d map[string]any) {
		if cs, ok := d["commits"].([]any); ok && len(cs) > 0 {
			cs[0].(map[string]any)["timestamp"] = "yesterday"
		}
	})
	out["no JSON"] = []byte("{")
	out["null"] = []byte("null")
	if dir, ok := forgetest.SharedTestdataIfPresent("webhooks", "github"); ok {
		files, _ := filepath.Glob(filepath.Join(dir, "*", "*push*.json"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out["corpus "+filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f)] = b
		}
	}
	return out
}

// TestPushFastPathMatchesGoGitHub: a push parsed through pushBody is the Event go-github's
// types give, error for error, for every body above; only a body go-github refuses for a
// field the service never reads may be taken by the fast path.
func TestPushFastPathMatchesGoGitHub(t *testing.T) {
	fast := 0
	for name, body := range pushBodies(t) {
		t.Run(name, func(t *testing.T) {
			if comparePush(t, body) {
				fast++
			}
		})
	}
	if fast < 10 {
		t.Fatalf("only %d bodies took the fast path: it is not being tested", fast)
	}
}

// comparePush checks one body and reports whether the fast path took it.
func comparePush(t *testing.T, body []byte) bool {
	t.Helper()
	want, wantErr := parseGoGitHub("push", body)
	got, gotErr := ParsePayload("push", body)
	_, took, _ := parsePush(body)
	switch {
	case wantErr == nil && gotErr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path:\n%+v\ngo-github:\n%+v", got, want)
		}
	case wantErr != nil && gotErr != nil:
		if errors.Is(wantErr, forge.ErrIgnored) != errors.Is(gotErr, forge.ErrIgnored) ||
			errors.Is(wantErr, forge.ErrMalformed) != errors.Is(gotErr, forge.ErrMalformed) {
			t.Fatalf("fast path's error %v, go-github's %v", gotErr, wantErr)
		}
		if took && wantErr.Error() != gotErr.Error() {
			t.Fatalf("fast path's error %q, go-github's %q", gotErr, wantErr)
		}
	case gotErr != nil:
		t.Fatalf("fast path refused what go-github takes: %v", gotErr)
	default:
		// go-github refused a field the service never reads: taken, and what was read is valid.
		if !took || !errors.Is(wantErr, forge.ErrMalformed) {
			t.Fatalf("taken (fast path %v) though go-github said %v", took, wantErr)
		}
		if got.Forge != forge.GitHub || got.Kind == "" {
			t.Fatalf("taken without forge or kind: %+v", got)
		}
	}
	return took
}

// FuzzPushFastPath: for any body, the fast path and go-github's types agree as the test above
// demands.
func FuzzPushFastPath(f *testing.F) {
	for _, body := range pushBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) { comparePush(t, body) })
}

// BenchmarkParsePush compares the two ways to parse the ingestion benchmark's ~6 KB push:
//
//	go test ./forge/github -run '^$' -bench ParsePush
func BenchmarkParsePush(b *testing.B) {
	body := forgetest.Rewrite(b, forgetest.Payload(b, "github/push/branch-updated.json"), func(doc map[string]any) {
		commits, _ := doc["commits"].([]any)
		for len(commits) > 0 && len(commits) < 6 {
			commits = append(commits, commits[0])
		}
		doc["commits"] = commits
	})
	for _, way := range []struct {
		name  string
		parse func(string, []byte) (*forge.Event, error)
	}{{"go-github", parseGoGitHub}, {"fast", ParsePayload}} {
		b.Run(way.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := way.parse("push", body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
