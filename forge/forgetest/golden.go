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

// Parsed compares a parse's result with its golden file and with the error class wanted
// (nil: an event). It returns true when an event came as wanted, for the caller to check
// further; a mismatch stops the test.
func Parsed(t testing.TB, golden string, ev *forge.Event, err, wantErr error, update bool) bool {
	t.Helper()
	Golden(t, golden, ev, err, update)
	switch {
	case wantErr != nil && !errors.Is(err, wantErr):
		t.Fatalf("Parse = %+v, %v; want error %v", ev, err, wantErr)
	case wantErr == nil && err != nil:
		t.Fatalf("Parse: %v", err)
	}
	return wantErr == nil
}
