package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// VerifyFeed checks a served opkg feed as a router would: the index's signature verifies with
// signify-openbsd against the key served at keyPath, and every entry downloads with the size and
// SHA256 it lists. get fetches a path of the service (status and body). It returns the package
// names and versions listed.
func VerifyFeed(t testing.TB, get func(path string) (int, []byte), feedPath, keyPath string) map[string]string {
	t.Helper()
	signify := NeedCommand(t, "signify-openbsd")
	dir := t.TempDir()
	fetch := func(p, name string) []byte {
		code, b := get(p)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		return b
	}
	packages := fetch(feedPath+"Packages", "Packages")
	fetch(feedPath+"Packages.sig", "Packages.sig")
	fetch(keyPath, "key.pub")
	out, err := exec.Command(signify, "-V", "-q", "-p", filepath.Join(dir, "key.pub"),
		"-x", filepath.Join(dir, "Packages.sig"), "-m", filepath.Join(dir, "Packages")).CombinedOutput()
	if err != nil {
		t.Fatalf("signify-openbsd does not verify %sPackages with %s: %v %s", feedPath, keyPath, err, out)
	}
	listed := map[string]string{}
	for _, stanza := range strings.Split(strings.TrimSpace(string(packages)), "\n\n") {
		f := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok {
				f[k] = v
			}
		}
		if f["Package"] == "" {
			continue
		}
		listed[f["Package"]] = f["Version"]
		code, body := get(feedPath + f["Filename"])
		sum := sha256.Sum256(body)
		if code != http.StatusOK || fmt.Sprint(len(body)) != f["Size"] || hex.EncodeToString(sum[:]) != f["SHA256sum"] {
			t.Errorf("%s%s: status %d, %d bytes sha256 %x; index says size %s sha256 %s",
				feedPath, f["Filename"], code, len(body), sum, f["Size"], f["SHA256sum"])
		}
	}
	return listed
}
