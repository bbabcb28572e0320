package forgetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

// Golden compares what parsing a delivery gave (the Event as indented JSON, or the error's
// class and text) with testdata/golden/<name>.golden; with update it rewrites the file. The
// test package owns the -update flag (forgetest registering one would clash with theirs).
func Golden(t testing.TB, name string, ev *forge.Event, err error, update bool) {
	t.Helper()
	var got []byte
	switch {
	case errors.Is(err, forge.ErrIgnored):
		got = []byte("ignored: " + err.Error() + "\n")
	case errors.Is(err, forge.ErrMalformed):
		got = []byte("malformed: " + err.Error() + "\n")
	case err != nil:
		got = []byte("error: " + err.Error() + "\n")
	default:
		var mErr error
		got, mErr = json.MarshalIndent(ev, "", "  ")
		if mErr != nil {
			t.Fatal(mErr)
		}
		got = append(got, '\n')
	}
	path := filepath.Join("testdata", "golden", filepath.FromSlash(name)+".golden")
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, rErr := os.ReadFile(path)
	if rErr != nil {
		t.Fatalf("%v (run `go test -update` to write it)", rErr)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run `go test -update` after checking the change):\n got: %s\nwant: %s", path, got, want)
	}
}
