package builder

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	cases := map[string]struct {
		in      string
		want    Config
		wantErr string // substring, with the line
	}{
		"no file":       {in: "", want: DefaultConfig()},
		"comments only": {in: "# nothing here\n", want: DefaultConfig()},
		"unquoted series stays literal": {
			in:   "series: [24.10, 23.05]\narchs: [x86_64]\n",
			want: Config{Series: []string{"24.10", "23.05"}, Archs: []string{"x86_64"}},
		},
		"block lists and quoted": {
			in:   "series:\n  - \"24.10\"\n  - snapshot\narchs:\n  - mipsel_24kc\nbranches: [main, \"release/*\"]\npackages: [hello, luci-app-x]\n",
			want: Config{Series: []string{"24.10", "snapshot"}, Archs: []string{"mipsel_24kc"}, Branches: []string{"main", "release/*"}, Packages: []string{"hello", "luci-app-x"}},
		},
		"targets alone replace default archs": {
			in:   "targets: [ramips/mt7621]\n",
			want: Config{Series: []string{"25.12"}, Targets: []string{"ramips/mt7621"}},
		},
		"feeds": {
			in: "feeds:\n  - name: extra\n    url: https://example.org/feed.git\n    ref: main\n",
			want: Config{Series: []string{"25.12"}, Archs: DefaultConfig().Archs,
				Feeds: []ExtraFeed{{Name: "extra", URL: "https://example.org/feed.git", Ref: "main"}}},
		},
		"single value as list":     {in: "series: 23.05\n", want: Config{Series: []string{"23.05"}, Archs: DefaultConfig().Archs}},
		"unknown field":            {in: "series: [24.10]\narch: [x86_64]\n", wantErr: ".openwrt-ppa.yml:2: unknown field \"arch\""},
		"float-looking bad series": {in: "series: [24.1]\n", wantErr: ":1: series \"24.1\""},
		"bad arch":                 {in: "archs:\n  - x86_64\n  - ../etc\n", wantErr: ":3: arch \"../etc\""},
		"bad target":               {in: "targets: [ramips]\n", wantErr: ":1: target \"ramips\""},
		"bad package":              {in: "packages: [Hello]\n", wantErr: ":1: package \"Hello\""},
		"bad glob":                 {in: "branches: [\"[\"]\n", wantErr: ":1: branch pattern"},
		"nested list":              {in: "series: [[24.10]]\n", wantErr: ":1: series: expected a single value"},
		"mapping value":            {in: "series: {a: b}\n", wantErr: ":1: series: expected a single value"},
		"top-level list":           {in: "- a\n- b\n", wantErr: ":1: the top level must be a mapping"},
		"duplicate field":          {in: "series: [24.10]\nseries: [23.05]\n", wantErr: "series"},
		"feed newline url":         {in: "feeds:\n  - name: x\n    url: \"https://a\\nsrc-git evil https://b\"\n", wantErr: ":3: feed url"},
		"feed unknown field":       {in: "feeds:\n  - name: x\n    url: https://a/b\n    branch: main\n", wantErr: ":4: unknown feed field \"branch\""},
		"feed without url":         {in: "feeds:\n  - name: x\n", wantErr: ":2: a feed needs both name and url"},
		"alias":                    {in: "a: &x [1]\nseries: *x\n", wantErr: "unknown field \"a\""},
		"alias value":              {in: "series: &x [24.10]\narchs: *x\n", wantErr: ":1: anchors, aliases"},
		"empty series":             {in: "series: []\n", wantErr: "series is empty"},
		"null series":              {in: "series:\n", wantErr: ":1: series: a list is missing"},
		"not yaml":                 {in: "series: [24.10\n", wantErr: "not valid YAML"},
		"two documents":            {in: "series: [24.10]\n---\nseries: [23.05]\n", wantErr: "more than one YAML document"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseConfig(ConfigFile, []byte(tc.in))
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, got %+v; want error containing %q", got, tc.wantErr)
				}
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v is not a *ConfigError", err)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %q does not contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "series: [24.10]\n", "archs: [x86_64]\ntargets: [x86/64]\n",
		"feeds:\n  - name: a\n    url: https://x/y\n", "series: &a [1]\nx: *a\n", "- [\n", "a: !!binary x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(ConfigFile, data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			return
		}
		if len(cfg.Series) == 0 {
			t.Fatalf("accepted config with no series: %q", data)
		}
		for _, s := range cfg.Series {
			if !seriesRe.MatchString(s) {
				t.Fatalf("accepted bad series %q", s)
			}
		}
		for _, p := range cfg.Packages {
			if !ValidPackageName(p) {
				t.Fatalf("accepted bad package %q", p)
			}
		}
		for _, fd := range cfg.Feeds {
			if strings.ContainsAny(fd.URL+fd.Name+fd.Ref, "\n\r ") {
				t.Fatalf("accepted feed with whitespace %+v", fd)
			}
		}
	})
}
