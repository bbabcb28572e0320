package testenv

import "testing"

func TestNeedCommandFindsShell(t *testing.T) {
	if p := NeedCommand(t, "sh"); p == "" {
		t.Fatal("NeedCommand returned an empty path for sh")
	}
}

func TestInCIFollowsEnvironment(t *testing.T) {
	t.Setenv("CI", "")
	if InCI() {
		t.Fatal("InCI true with CI empty")
	}
	t.Setenv("CI", "true")
	if !InCI() {
		t.Fatal("InCI false with CI=true")
	}
}
