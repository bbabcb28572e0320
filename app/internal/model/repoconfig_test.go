package model

import (
	"slices"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestParseConfig(t *testing.T) {
	stored := store.RepoConfig{RepoID: 1, Series: []string{"24.10", "snapshot"}, Archs: []string{"x86_64"},
		Packages: []string{"hello"}, Branches: []string{"release/*"}, SetBy: "kubernetes:ppa/feed"}
	cases := []struct {
		name    string
		file    []byte
		found   bool
		stored  store.RepoConfig
		series  []string
		archs   []string
		raw     string
		wantNil bool
	}{
		{"stored, no file", nil, false, stored, stored.Series, stored.Archs,
			"series: [\"24.10\",\"snapshot\"]\narchs: [\"x86_64\"]\npackages: [\"hello\"]\nbranches: [\"release/*\"]\n", false},
		{"the file wins", []byte("archs: [mips_24kc]\n"), true, stored, []string{builder.DefaultSeries}, []string{"mips_24kc"}, "archs: [mips_24kc]\n", false},
		{"an empty file wins", []byte{}, true, stored, builder.DefaultConfig().Series, builder.DefaultConfig().Archs, "", false},
		{"neither", nil, false, store.RepoConfig{}, builder.DefaultConfig().Series, builder.DefaultConfig().Archs, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, raw, err := ParseConfig(tc.file, tc.found, tc.stored)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Series, tc.series) || !slices.Equal(cfg.Archs, tc.archs) || string(raw) != tc.raw || (raw == nil) != tc.wantNil {
				t.Fatalf("series %v archs %v raw %q (nil %v)", cfg.Series, cfg.Archs, raw, raw == nil)
			}
		})
	}
	// Who set it and when are not part of what is built: the same settings, the same bytes.
	other := stored
	other.SetBy, other.Updated = "kubernetes:other/feed", other.Updated.AddDate(1, 0, 0)
	if string(ConfigDocument(stored)) != string(ConfigDocument(other)) {
		t.Error("the document depends on who set the configuration")
	}
}
