package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func TestGitLabSecretsAddListRemove(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	run := func(args ...string) (int, string, string) {
		var out, errb testenv.SyncBuffer
		code := runGitLabSecrets(ctx, append(args[:1:1], append([]string{"--data", data}, args[1:]...)...), &out, &errb)
		return code, out.String(), errb.String()
	}
	code, out, errs := run("add", "--note", "wifi-tools", "4242")
	secret := strings.TrimSpace(out)
	if code != 0 || len(secret) < 32 || !strings.Contains(errs, "shown this once") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	if code, _, _ := run("add", "--group", "7"); code != 0 {
		t.Fatal("add --group failed")
	}
	code, out, _ = run("list")
	if code != 0 || !strings.Contains(out, "project 4242") || !strings.Contains(out, "wifi-tools") || !strings.Contains(out, "group 7") || strings.Contains(out, secret) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	// The store holds the printed secret's hash, which is what a delivery is checked against.
	rt, err := app.Open(ctx, app.Config{Data: data}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	regs, err := rt.Store.WebhookSecretsByHash(ctx, "gitlab", hex.EncodeToString(sum[:]))
	rt.Close()
	if err != nil || len(regs) != 1 || regs[0].ScopeID != 4242 {
		t.Fatalf("registrations of the printed secret: %+v %v", regs, err)
	}
	id := strings.Fields(out)[0]
	if code, _, errs := run("remove", id); code != 0 || !strings.Contains(errs, "removed registration "+id) {
		t.Fatalf("remove: %d %s", code, errs)
	}
	if _, out, _ = run("list"); strings.Contains(out, "4242") {
		t.Fatalf("list after remove:\n%s", out)
	}
	for _, bad := range [][]string{{"add", "x"}, {"remove"}, {"rotate", "1"}} {
		if code, _, _ := run(bad...); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	if code, _, errs := run("remove", "999"); code != 1 || !strings.Contains(errs, "list shows") {
		t.Errorf("remove of an unknown registration: %d %s", code, errs)
	}
}
