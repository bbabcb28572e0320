package builder

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCatalogueImage(t *testing.T) {
	cat, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		series, arch string
		opt          ImageOptions
		want         string
		wantErr      string
		apk          bool
	}{
		"24.10 x86_64":     {series: "24.10", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64-24.10.6"},
		"23.05 mips":       {series: "23.05", arch: "mips_24kc", want: "ghcr.io/openwrt/sdk:mips_24kc-23.05.5"},
		"mirror":           {series: "24.10", arch: "mipsel_24kc", opt: ImageOptions{Registry: "mirror.local/sdk/"}, want: "mirror.local/sdk:mipsel_24kc-24.10.6"},
		"override":         {series: "23.05", arch: "x86_64", opt: ImageOptions{Image: "openwrt-ppa/sdk-standin:latest"}, want: "openwrt-ppa/sdk-standin:latest"},
		"25.12 is apk":     {series: "25.12", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64-25.12.3", apk: true},
		"snapshot is bare": {series: "snapshot", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64", apk: true},
		"unknown series":   {series: "22.03", arch: "x86_64", wantErr: "series \"22.03\" is not in the SDK catalogue"},
		"unknown arch":     {series: "24.10", arch: "z80", wantErr: "arch \"z80\" has no SDK image"},
		"24.10 mips_4kec":  {series: "24.10", arch: "mips_4kec", want: "ghcr.io/openwrt/sdk:mips_4kec-24.10.6"},
		"25.12 no 4kec":    {series: "25.12", arch: "mips_4kec", wantErr: "arch \"mips_4kec\" has no SDK image for 25.12"},
		"25.12 riscv64":    {series: "25.12", arch: "riscv64_generic", want: "ghcr.io/openwrt/sdk:riscv64_generic-25.12.3", apk: true},
		"24.10 riscv64":    {series: "24.10", arch: "riscv64_riscv64", want: "ghcr.io/openwrt/sdk:riscv64_riscv64-24.10.6"},
		"25.12 no old rv":  {series: "25.12", arch: "riscv64_riscv64", wantErr: "has no SDK image for 25.12"},
		"24.10 xscale":     {series: "24.10", arch: "armeb_xscale", want: "ghcr.io/openwrt/sdk:armeb_xscale-24.10.6"},
		"25.12 e5500":      {series: "25.12", arch: "powerpc64_e5500", want: "ghcr.io/openwrt/sdk:powerpc64_e5500-25.12.3", apk: true},
		"24.10 mips64r2":   {series: "24.10", arch: "mips64_mips64r2", want: "ghcr.io/openwrt/sdk:mips64_mips64r2-24.10.6"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img, err := cat.Image(tc.series, tc.arch, tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.apk != (img.Format == FormatAPK) {
				t.Fatalf("format %q, want apk %v", img.Format, tc.apk)
			}
			if img.Ref != tc.want {
				t.Fatalf("image %q, want %q", img.Ref, tc.want)
			}
		})
	}
	if a, err := cat.TargetArch("ramips/mt7621"); err != nil || a != "mipsel_24kc" {
		t.Fatalf("ramips/mt7621 → %q, %v", a, err)
	}
}

func TestCatalogueWithTags(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	tags := []string{
		"x86_64-24.10.6", "x86_64-v24.10.7", "x86_64-v24.10.10", "x86_64-24.10.10", "x86_64-24.10.9", // 10 > 9 > 7: numeric
		"x86-64-24.10.11",                             // a target tag: the arch tag decides for the arch
		"x86_64-24.10.12-rc1", "x86_64-openwrt-24.10", // a release candidate and a branch: not releases
		"mips_24kc-v24.10.7", "mips_4kec-25.12.9", // 25.12 has no mips_4kec: ignored
		"x86_64-25.12.4", "x86_64-SNAPSHOT", "x86_64", "x86_64-26.02.0", // an unknown series: ignored
		"aarch64_cortex-a53-24.10.8",
	}
	cat := base.WithTags(tags)
	cases := map[string]struct{ series, arch, want string }{
		"newest numerically":   {"24.10", "x86_64", "ghcr.io/openwrt/sdk:x86_64-24.10.10"},
		"only a v tag":         {"24.10", "mips_24kc", "ghcr.io/openwrt/sdk:mips_24kc-v24.10.7"},
		"arch with a dash":     {"24.10", "aarch64_cortex-a53", "ghcr.io/openwrt/sdk:aarch64_cortex-a53-24.10.8"},
		"no tag: the table":    {"24.10", "mipsel_24kc", "ghcr.io/openwrt/sdk:mipsel_24kc-24.10.6"},
		"other series":         {"25.12", "x86_64", "ghcr.io/openwrt/sdk:x86_64-25.12.4"},
		"snapshot untouched":   {"snapshot", "x86_64", "ghcr.io/openwrt/sdk:x86_64"},
		"23.05 from the table": {"23.05", "x86_64", "ghcr.io/openwrt/sdk:x86_64-23.05.5"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			img, err := cat.Image(tc.series, tc.arch, ImageOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if img.Ref != tc.want {
				t.Fatalf("image %q, want %q", img.Ref, tc.want)
			}
			if want := strings.TrimPrefix(tc.want[strings.LastIndexByte(tc.want, '-')+1:], "v"); tc.series != "snapshot" && img.Release != want {
				t.Fatalf("release %q, want %q", img.Release, want)
			}
		})
	}
	if img, _ := base.Image("24.10", "x86_64", ImageOptions{}); img.Release != "24.10.6" {
		t.Errorf("WithTags changed the catalogue it was called on: %s", img.Release)
	}
}

type fakeLister struct {
	tags []string
	err  error
	repo string
}

func (f *fakeLister) ListTags(_ context.Context, repo string) ([]string, error) {
	f.repo = repo
	return f.tags, f.err
}

func TestCatalogueSourceFallsBack(t *testing.T) {
	base, err := LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	l := &fakeLister{err: errors.New("dial tcp: connection refused")}
	src := NewCatalogueSource(base, "mirror.local/sdk/", l, nil)
	release := func() string {
		img, _ := src.Current().Image("24.10", "x86_64", ImageOptions{})
		return img.Release
	}
	if err := src.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("refresh with the registry down: %v", err)
	}
	if l.repo != "mirror.local/sdk" || release() != "24.10.6" {
		t.Fatalf("asked %q; release %s, want the embedded 24.10.6", l.repo, release())
	}
	l.tags, l.err = []string{"x86_64-24.10.7"}, nil
	if err := src.Refresh(context.Background()); err != nil || release() != "24.10.7" {
		t.Fatalf("refresh: %v, release %s", err, release())
	}
	l.tags, l.err = nil, errors.New("timeout")
	if err := src.Refresh(context.Background()); err == nil || release() != "24.10.7" {
		t.Fatalf("a failed refresh must keep the last good releases: %v %s", err, release())
	}
	if st := src.Status(); st.LastOK.IsZero() || st.Err == nil {
		t.Fatalf("status %+v", st)
	}
}

func FuzzParseReleaseTag(f *testing.F) {
	for _, s := range []string{"x86_64-24.10.6", "x86-64-v24.10.6", "a-b-c-1.2.3", "x86_64", "-1.2.3", "x-99999.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tag string) {
		img, series, release, ok := parseReleaseTag(tag)
		if !ok {
			return
		}
		if img == "" || !strings.HasPrefix(release, series+".") || !strings.HasPrefix(tag, img+"-") {
			t.Fatalf("%q → %q %q %q", tag, img, series, release)
		}
	})
}

func TestReleaseOfImage(t *testing.T) {
	for ref, want := range map[string]string{
		"ghcr.io/openwrt/sdk:x86_64-24.10.6":         "24.10.6",
		"ghcr.io/openwrt/sdk:mipsel_24kc-v25.12.3":   "25.12.3",
		"localhost:5000/openwrt/sdk:x86-64-24.10.11": "24.10.11",
		"localhost:5000/openwrt/sdk":                 "",
		"ghcr.io/openwrt/sdk:x86_64":                 "",
		"openwrt-ppa/sdk-standin:0123456789abcdef":   "",
		"ghcr.io/openwrt/sdk:x86_64-24.10-SNAPSHOT":  "",
	} {
		if got := ReleaseOfImage(ref); got != want {
			t.Errorf("ReleaseOfImage(%q) = %q, want %q", ref, got, want)
		}
	}
}
