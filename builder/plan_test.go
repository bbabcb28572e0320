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
		"defaults":                 {cfg: DefaultConfig(), wantJobs: []string{"24.10/x86_64", "24.10/aarch64_cortex-a53", "24.10/mipsel_24kc", "24.10/mips_24kc", "24.10/arm_cortex-a7_neon-vfpv4"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}},
		"targets merge archs":      {cfg: mustCfg("series: [23.05]\narchs: [x86_64]\ntargets: [ramips/mt7621, x86/64]\n"), wantJobs: []string{"23.05/x86_64", "23.05/mipsel_24kc"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}},
		"package filter":           {cfg: mustCfg("archs: [x86_64]\npackages: [beta]\n"), wantJobs: []string{"24.10/x86_64"}, wantPkgs: []string{"beta"}},
		"flags override":           {cfg: DefaultConfig(), series: []string{"23.05"}, archs: []string{"mips_24kc"}, wantJobs: []string{"23.05/mips_24kc"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}},
		"apk series fails at once": {cfg: mustCfg("series: [24.10, 25.12]\narchs: [x86_64]\n"), wantJobs: []string{"24.10/x86_64", "25.12/x86_64"}, wantPkgs: []string{"alpha", "alpha-extra", "beta"}, apkJobs: 1},
		"unknown package":          {cfg: mustCfg("packages: [gamma]\n"), wantErr: ".openwrt-ppa.yml: packages: gamma is not defined"},
		"refused package":          {cfg: mustCfg("packages: [kmod-x]\n"), wantErr: "kmod-x is refused: kernel module"},
		"unknown series":           {cfg: mustCfg("series: [22.03]\n"), wantErr: "series \"22.03\" is not in the SDK catalogue"},
		"unknown target":           {cfg: mustCfg("targets: [foo/bar]\n"), wantErr: "target \"foo/bar\" is not in the SDK catalogue"},
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
				if j.Unsupported != "" {
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
