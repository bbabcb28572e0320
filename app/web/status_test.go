package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAPIStatus: GET /api/v1/admin/status shows the admin token the SDK catalogue's refresh
// state as Options.Catalogue reports it (a failure with what to do, a refresh that is off as
// such), and nobody else.
func TestAPIStatus(t *testing.T) {
	fx := newFixture(t)
	const failure = "SDK catalogue not refreshed, keeping the releases in use: listing the tags of ghcr.io/openwrt/sdk: dial tcp: network is unreachable; let the service reach the registry, point it at a mirror (--registry), or turn the refresh off (--catalogue-refresh=0)"
	healthy := *fx.catalogue.Load()
	cases := []struct {
		name   string
		c      *http.Client
		admin  bool
		state  CatalogueState
		status int
		want   catalogueJSON
	}{
		{"anonymous", fx.client(t), false, healthy, 401, catalogueJSON{}},
		{"signed in, not admin", fx.signIn(t, "alice"), false, healthy, 401, catalogueJSON{}},
		{"refreshed", fx.client(t), true, healthy, 200, catalogueJSON{Source: "registry ghcr.io/openwrt/sdk",
			InUse: "last answer of 2026-11-20T11:00:00Z", Releases: "24.10=24.10.6", LastOK: "2026-11-20T11:00:00Z"}},
		{"refresh failed", fx.client(t), true, CatalogueState{Source: "registry ghcr.io/openwrt/sdk", InUse: "embedded table",
			Releases: "24.10=24.10.6", Err: failure}, 200,
			catalogueJSON{Source: "registry ghcr.io/openwrt/sdk", InUse: "embedded table", Releases: "24.10=24.10.6", Error: failure}},
		{"refresh off", fx.client(t), true, CatalogueState{Source: "embedded table (--catalogue-refresh=0): the registry is not asked",
			InUse: "embedded table", Releases: "24.10=24.10.6"}, 200,
			catalogueJSON{Source: "embedded table (--catalogue-refresh=0): the registry is not asked", InUse: "embedded table", Releases: "24.10=24.10.6"}},
		{"fixed image", fx.client(t), true, CatalogueState{Source: "fixed image sdk:test (--image): every job uses it, the registry is not asked",
			InUse: "fixed image"}, 200,
			catalogueJSON{Source: "fixed image sdk:test (--image): every job uses it, the registry is not asked", InUse: "fixed image"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx.catalogue.Store(&tc.state)
			req, _ := http.NewRequest("GET", fx.srv.URL+"/api/v1/admin/status", nil)
			if tc.admin {
				req.Header.Set("Authorization", "Bearer "+adminToken)
			}
			resp, err := tc.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Catalogue *catalogueJSON `json:"catalogue"`
				apiErrorBody
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %+v", resp.StatusCode, tc.status, body)
			}
			if tc.status != 200 {
				if body.Catalogue != nil || !strings.Contains(body.Error.Message, "admin token") {
					t.Errorf("a caller without the admin token got %+v, want only the advice to use it", body)
				}
				return
			}
			if body.Catalogue == nil || *body.Catalogue != tc.want {
				t.Errorf("catalogue %+v, want %+v", body.Catalogue, tc.want)
			}
		})
	}
	// A handler that plans no builds (no Options.Catalogue) says where the status is.
	h, err := New(Options{History: fx.st, Feeds: fx.feeds, PublicURL: "http://ppa.test",
		SessionSecret: []byte("0123456789abcdef0123456789abcdef"), AdminToken: adminToken})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/admin/status", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "run serve") {
		t.Errorf("without a catalogue: status %d %s, want 404 saying to ask serve", rec.Code, rec.Body)
	}
}
