package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionStamped(t *testing.T) {
	cases := []struct{ version, commit, want string }{
		{"v1.2.3", "abc123", "openwrt-ppa v1.2.3 abc123\n"},
		{"abc123", "abc123", "openwrt-ppa abc123\n"}, // git describe --always without tags
	}
	for _, c := range cases {
		version, commit = c.version, c.commit
		var out bytes.Buffer
		if code := runVersion(context.Background(), nil, &out, &out); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if out.String() != c.want {
			t.Errorf("version %q commit %q: printed %q, want %q", c.version, c.commit, out.String(), c.want)
		}
	}
	version, commit = "", ""
}

// The Makefile's ldflags reach the binary: a build stamped as make stamps it names its commit.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "openwrt-ppa")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test -X main.commit=feedc0de", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "openwrt-ppa v9.9.9-test feedc0de" {
		t.Errorf("version printed %q", got)
	}
}
