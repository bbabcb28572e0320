// Package testenv gives tests the real parts they need — a Docker engine, redis-server,
// signify-openbsd, chromium, a git server — and decides what happens when one is missing: on a
// developer's machine the test skips with a loud message; under CI (CI set) it fails, so a
// missing part can never turn into a silently green run.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run under CI, where every real part must be present.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing skips the test (or fails it under CI) because part is not available; why says what is
// missing and how to get it.
func Missing(t testing.TB, part, why string) {
	t.Helper()
	msg := "MISSING " + part + ": " + why + " (install it, or run .ci/run, which installs every part)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED — " + msg)
}

// MissingData is Missing for test data that lives outside the repository (the real-world corpus
// in ../shared/testdata): it cannot be installed, only laid beside the clone, as CI does.
func MissingData(t testing.TB, part, why string) {
	t.Helper()
	msg := "MISSING " + part + ": " + why + " (it is not part of the repository: CI lays ../shared beside the clone; elsewhere set OPENWRT_PPA_TESTDATA to a copy of shared/testdata)"
	if InCI() {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED — " + msg)
}

// NeedCommand returns the path of an executable the test needs, or skips/fails through Missing.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, "not found on PATH")
	}
	return p
}
