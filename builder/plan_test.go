package builder

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestMakePlan(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	found := Discovery{
		Sources: []SourcePackage{{Dir: "a", Name: "a", Packages: []BinaryPackage{{Name: "alpha"}, {Name: "alpha-extra"}}}, {Dir: "b", Name: "beta", Packages: []BinaryPackage{{Name: "beta"}}}},
		Refused: []Refusal{{Package: "kmod-x", Dir: "k", Reason: "kernel module"}},
	}
	mustCfg := func(s string) Config {
		c, err := ParseConfig(ConfigFile, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := map[string]struct {
		cfg      Config
		series   []string
		archs    []string
		wantJobs []string // series/arch
		wantPkgs []string
		wantErr  string
		apkJobs  int
	}{
		"defaults":            {cfg: DefaultConfig(), wantJobs: []string{"25.12/x86_64", "25.12/aarch64_cortex-a53", "25.12/mipsel_24kc", "25.12/mips_24kc", "25.12/arm_cortex-a7_neon-vfpv4"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}, apkJobs: 5},
		"targets merge archs": {cfg: mustCfg("series: [23.05]\narchs: [x86_64]\ntargets: [ramips/mt7621, x86/64]\n"), wantJobs: []string{"23.05/x86_64", "23.05/mipsel_24kc"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}},
		"package filter":      {cfg: mustCfg("archs: [x86_64]\npackages: [beta]\n"), wantJobs: []string{"25.12/x86_64"}, wantPkgs: []string{"beta"}, apkJobs: 1},
		"flags override":      {cfg: DefaultConfig(), series: []string{"23.05"}, archs: []string{"mips_24kc"}, wantJobs: []string{"23.05/mips_24kc"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}},
		"both formats":        {cfg: mustCfg("series: [24.10, 25.12]\narchs: [x86_64]\n"), wantJobs: []string{"24.10/x86_64", "25.12/x86_64"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}, apkJobs: 1},
		"unknown package":     {cfg: mustCfg("packages: [gamma]\n"), wantErr: ".openwrt-ppa.yml: packages: gamma is not defined"},
		"refused package":     {cfg: mustCfg("packages: [kmod-x]\n"), wantErr: "kmod-x is refused: kernel module"},
		"unknown series":      {cfg: mustCfg("series: [22.03]\n"), wantErr: "series \"22.03\" is not in the SDK catalogue"},
		"unknown target":      {cfg: mustCfg("targets: [foo/bar]\n"), wantErr: "target \"foo/bar\" is not in the SDK catalogue"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			plan, err := MakePlan(PlanInput{Repo: "o/r", Commit: "c0ffee", Config: tc.cfg, Found: found, Catalogue: cat, Series: tc.series, Archs: tc.archs})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			apk := 0
			for _, j := range plan.Jobs {
				names = append(names, j.Name())
				if !reflect.DeepEqual(j.Packages, tc.wantPkgs) {
					t.Errorf("job %s packages %v, want %v", j.Name(), j.Packages, tc.wantPkgs)
				}
				if len(j.Key) != 64 {
					t.Errorf("job %s key %q", j.Name(), j.Key)
				}
				if j.Format == FormatAPK {
					apk++
				}
			}
			if !reflect.DeepEqual(names, tc.wantJobs) {
				t.Fatalf("jobs %v, want %v", names, tc.wantJobs)
			}
			if apk != tc.apkJobs {
				t.Fatalf("%d apk jobs, want %d", apk, tc.apkJobs)
			}
			if len(plan.Refused) != 1 {
				t.Fatalf("refusals %v", plan.Refused)
			}
		})
	}
}

func TestJobKeyIdentifiesIdenticalJobs(t *testing.T) {
	cat, _ := LoadCatalogue()
	found := Discovery{Sources: []SourcePackage{{Dir: "a", Name: "a", Packages: []BinaryPackage{{Name: "a"}}}}}
	mk := func(commit string, raw []byte) string {
		p, err := MakePlan(PlanInput{Repo: "o/r", Commit: commit, Config: DefaultConfig(), ConfigRaw: raw, Found: found, Catalogue: cat})
		if err != nil {
			t.Fatal(err)
		}
		return p.Jobs[0].Key
	}
	if mk("1", nil) != mk("1", nil) {
		t.Fatal("identical inputs gave different keys")
	}
	if mk("1", nil) == mk("2", nil) || mk("1", nil) == mk("1", []byte("x")) {
		t.Fatal("different commit or config gave the same key")
	}
}

func TestMakePlanNothingToBuild(t *testing.T) {
	cat, _ := LoadCatalogue()
	_, err := MakePlan(PlanInput{Config: DefaultConfig(), Catalogue: cat})
	if !errors.Is(err, ErrNoPackages) {
		t.Fatalf("error %v, want ErrNoPackages", err)
	}
}

func TestContentKeyHoldsEveryInput(t *testing.T) {
	c1, c2 := strings.Repeat("1", 40), strings.Repeat("2", 40)
	base := func() ContentInput {
		return ContentInput{
			Repo: "github/42", Commit: c1, Series: "24.10", Arch: "x86_64", Image: "openwrt/sdk:x86_64-24.10.4",
			ImageDigest: "sha256:aaaa", Trust: TrustRef, ConfigRaw: []byte("archs: [x86_64]\n"),
			Feeds:       []ExtraFeed{{Name: "extra", URL: "https://git.example/feed.git", Ref: "main"}},
			FeedCommits: map[string]string{"extra": c1},
		}
	}
	key := func(in ContentInput) string {
		t.Helper()
		k, err := ContentKey(in)
		if err != nil {
			t.Fatal(err)
		}
		if len(k) != 64 {
			t.Fatalf("key %q", k)
		}
		return k
	}
	want := key(base())
	if key(base()) != want {
		t.Fatal("identical inputs gave different keys")
	}
	for name, change := range map[string]func(*ContentInput){
		"pull request scope":  func(in *ContentInput) { in.Trust = TrustPullRequest },
		"image digest":        func(in *ContentInput) { in.ImageDigest = "sha256:bbbb" },
		"feed commit":         func(in *ContentInput) { in.FeedCommits["extra"] = c2 },
		"feed url":            func(in *ContentInput) { in.Feeds[0].URL = "https://git.example/other.git" },
		"commit":              func(in *ContentInput) { in.Commit = c2 },
		"repository":          func(in *ContentInput) { in.Repo = "github/43" },
		"series":              func(in *ContentInput) { in.Series = "23.05" },
		"arch":                func(in *ContentInput) { in.Arch = "mips_24kc" },
		"image":               func(in *ContentInput) { in.Image = "mirror/sdk:x86_64-24.10.4" },
		"configuration":       func(in *ContentInput) { in.ConfigRaw = []byte("archs: [x86_64] \n") },
		"values shifted over": func(in *ContentInput) { in.Series, in.Arch = "24.10x", "86_64" },
	} {
		in := base()
		change(&in)
		if key(in) == want {
			t.Errorf("%s: same key", name)
		}
	}
	// A feed pinned in the configuration needs no resolving.
	in := base()
	in.Feeds[0].Ref, in.FeedCommits = c1, nil
	if key(in) != want {
		t.Error("a feed pinned to the commit it resolves to gave another key")
	}

	for name, tc := range map[string]struct {
		change  func(*ContentInput)
		wantErr error
	}{
		"no trust scope":      {func(in *ContentInput) { in.Trust = "" }, nil},
		"unknown trust scope": {func(in *ContentInput) { in.Trust = "main" }, nil},
		"no image digest":     {func(in *ContentInput) { in.ImageDigest = "" }, ErrNotReusable},
		"feed not resolved":   {func(in *ContentInput) { in.FeedCommits = nil }, ErrNotReusable},
		"feed resolved badly": {func(in *ContentInput) { in.FeedCommits["extra"] = "main" }, ErrNotReusable},
		"short commit":        {func(in *ContentInput) { in.Commit = "c0ffee" }, nil},
	} {
		in := base()
		tc.change(&in)
		k, err := ContentKey(in)
		if err == nil || k != "" || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: key %q, error %v (want %v)", name, k, err, tc.wantErr)
		}
	}
}

func TestMakePlanTrustAndPinnedFeeds(t *testing.T) {
	cat, _ := LoadCatalogue()
	found := Discovery{Sources: []SourcePackage{{Dir: "a", Name: "a", Packages: []BinaryPackage{{Name: "a"}}}}}
	cfg, err := ParseConfig(ConfigFile, []byte("archs: [x86_64]\nfeeds:\n  - {name: extra, url: https://git.example/f.git, ref: main}\n"))
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.Repeat("3", 40)
	mk := func(trust TrustScope, pins map[string]string) Job {
		p, err := MakePlan(PlanInput{Repo: "o/r", Commit: "1", Config: cfg, Found: found, Catalogue: cat, Trust: trust, FeedCommits: pins})
		if err != nil {
			t.Fatal(err)
		}
		return p.Jobs[0]
	}
	pr, ref, dflt := mk(TrustPullRequest, nil), mk(TrustRef, nil), mk("", nil)
	if pr.Key == ref.Key {
		t.Fatal("a pull request job and a branch job of the same commit have one key")
	}
	if dflt.Trust != TrustPullRequest || dflt.Key != pr.Key {
		t.Fatalf("no trust scope gave %q, want the pull request scope", dflt.Trust)
	}
	pinned := mk(TrustRef, map[string]string{"extra": commit})
	if pinned.Feeds[0].Ref != commit || pinned.Key == ref.Key || cfg.Feeds[0].Ref != "main" {
		t.Fatalf("pinned feeds %+v (configuration %+v)", pinned.Feeds, cfg.Feeds)
	}
	if _, err := MakePlan(PlanInput{Repo: "o/r", Commit: "1", Config: cfg, Found: found, Catalogue: cat, FeedCommits: map[string]string{"extra": "main"}}); err == nil {
		t.Fatal("a feed pinned to a branch name was accepted")
	}
}
