package forgetest

import (
	"encoding/json"
	"os"
	"testing"
)

// Rewrite decodes a JSON object, lets edit change it, and encodes it again: tests derive the
// variants they need (a /rebuild comment, a fork) from real payloads instead of writing new ones.
func Rewrite(t testing.TB, body []byte, edit func(doc map[string]any)) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	edit(doc)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	return out
}

// Obj returns doc[key] as an object, failing the test when it is not one.
func Obj(t testing.TB, doc map[string]any, keys ...string) map[string]any {
	t.Helper()
	cur := doc
	for _, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			t.Fatalf("rewrite: %q is no object", k)
		}
		cur = next
	}
	return cur
}

// ReadFile reads a test file or fails the test.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
