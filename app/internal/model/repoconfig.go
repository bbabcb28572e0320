package model

import (
	"bytes"
	"cmp"
	"encoding/json"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// ConfigDocument is the .openwrt-ppa.yml a stored configuration stands for: its fields that are
// set, in the file's order, each a JSON list (JSON is YAML). It is what the content key hashes
// in place of the file, so a changed configuration never reuses what the old one built, and an
// unchanged one gives the same bytes however often it is written.
func ConfigDocument(c store.RepoConfig) []byte {
	var b bytes.Buffer
	for _, f := range []struct {
		name   string
		values []string
	}{{"series", c.Series}, {"archs", c.Archs}, {"packages", c.Packages}, {"branches", c.Branches}} {
		if len(f.values) == 0 {
			continue
		}
		list, _ := json.Marshal(f.values) // a list of strings always encodes
		b.WriteString(f.name + ": ")
		b.Write(list)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseConfig is the configuration a build uses: the repository's own .openwrt-ppa.yml when it
// has one (found; file may then be empty), else the configuration stored for it (stored.RepoID
// 0: none), else the defaults. raw is what the content key hashes: the file, the stored
// configuration's document, or nil. A mistake is a *builder.ConfigError naming where it is.
func ParseConfig(file []byte, found bool, stored store.RepoConfig) (cfg builder.Config, raw []byte, err error) {
	name := builder.ConfigFile
	switch {
	case found:
		raw = file
	case stored.RepoID != 0:
		raw = ConfigDocument(stored)
		name = "the configuration of " + cmp.Or(stored.SetBy, "the service") + " (the repository has no " + builder.ConfigFile + ")"
	}
	cfg, err = builder.ParseConfig(name, raw)
	return cfg, raw, err
}
