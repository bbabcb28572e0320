package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func hashOf(secret string) string {
	s := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(s[:])
}

func scopes(ws []store.WebhookSecret) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ScopeKind+":"+strconv.FormatInt(w.ScopeID, 10))
	}
	return out
}

var webhookSecretTests = []test{
	{"secret/add, look up by hash, list, delete", func(t *testing.T, s store.Store) {
		c := ctx(t)
		a, b := hashOf("secret-a"), hashOf("secret-b")
		add := func(w store.WebhookSecret) store.WebhookSecret {
			t.Helper()
			got, err := s.AddWebhookSecret(c, w)
			if err != nil {
				t.Fatalf("AddWebhookSecret(%+v): %v", w, err)
			}
			if got.ID == 0 || got.Created.IsZero() || got.SHA256 != w.SHA256 {
				t.Fatalf("added %+v", got)
			}
			return got
		}
		p1 := add(store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 42, SHA256: a, Note: "wifi-tools", CreatedBy: "root"})
		add(store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeGroup, ScopeID: 7, SHA256: a})
		add(store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 43, SHA256: b})
		add(store.WebhookSecret{Forge: "gitea", ScopeKind: store.ScopeProject, ScopeID: 42, SHA256: a})

		got, err := s.WebhookSecretsByHash(c, "gitlab", a)
		if err != nil || len(got) != 2 || scopes(got)[0] != "project:42" || scopes(got)[1] != "group:7" {
			t.Fatalf("WebhookSecretsByHash(a) = %v, %v; want project:42, group:7", scopes(got), err)
		}
		if got[0].Note != "wifi-tools" || got[0].CreatedBy != "root" || !got[0].Created.Equal(p1.Created) {
			t.Errorf("read back %+v, stored %+v", got[0], p1)
		}
		if none, err := s.WebhookSecretsByHash(c, "gitlab", hashOf("guess")); err != nil || len(none) != 0 {
			t.Fatalf("unknown secret: %v, %v; want none", none, err)
		}
		if all, err := s.ListWebhookSecrets(c, "gitlab"); err != nil || len(all) != 3 {
			t.Fatalf("ListWebhookSecrets = %v, %v; want 3", scopes(all), err)
		}
		if err := s.DeleteWebhookSecret(c, p1.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.WebhookSecretsByHash(c, "gitlab", a); len(got) != 1 || scopes(got)[0] != "group:7" {
			t.Fatalf("after delete: %v, want group:7", scopes(got))
		}
		if err := s.DeleteWebhookSecret(c, p1.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second delete: %v, want ErrNotFound", err)
		}
		// The scope is free again once its registration is gone.
		add(store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 42, SHA256: a})
	}},
	{"secret/duplicates and bad records are refused", func(t *testing.T, s store.Store) {
		c := ctx(t)
		w := store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 42, SHA256: hashOf("x")}
		if _, err := s.AddWebhookSecret(c, w); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddWebhookSecret(c, w); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("same secret, same scope: %v, want ErrDuplicate", err)
		}
		for name, bad := range map[string]store.WebhookSecret{
			"no forge":     {ScopeKind: store.ScopeProject, ScopeID: 1, SHA256: w.SHA256},
			"bad scope":    {Forge: "gitlab", ScopeKind: "user", ScopeID: 1, SHA256: w.SHA256},
			"no scope id":  {Forge: "gitlab", ScopeKind: store.ScopeGroup, SHA256: w.SHA256},
			"plain secret": {Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 1, SHA256: "s3cret"},
			"short hash":   {Forge: "gitlab", ScopeKind: store.ScopeProject, ScopeID: 1, SHA256: w.SHA256[:62]},
		} {
			if _, err := s.AddWebhookSecret(c, bad); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if all, _ := s.ListWebhookSecrets(c, "gitlab"); len(all) != 1 {
			t.Fatalf("refused records were stored: %v", scopes(all))
		}
	}},
}
