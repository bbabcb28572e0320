package builder

import (
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
		"24.10 x86_64":     {series: "24.10", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64-24.10.4"},
		"23.05 mips":       {series: "23.05", arch: "mips_24kc", want: "ghcr.io/openwrt/sdk:mips_24kc-23.05.5"},
		"mirror":           {series: "24.10", arch: "mipsel_24kc", opt: ImageOptions{Registry: "mirror.local/sdk/"}, want: "mirror.local/sdk:mipsel_24kc-24.10.4"},
		"override":         {series: "23.05", arch: "x86_64", opt: ImageOptions{Image: "openwrt-ppa/sdk-standin:latest"}, want: "openwrt-ppa/sdk-standin:latest"},
		"25.12 is apk":     {series: "25.12", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64-25.12.0", apk: true},
		"snapshot is bare": {series: "snapshot", arch: "x86_64", want: "ghcr.io/openwrt/sdk:x86_64", apk: true},
		"unknown series":   {series: "22.03", arch: "x86_64", wantErr: "series \"22.03\" is not in the SDK catalogue"},
		"unknown arch":     {series: "24.10", arch: "z80", wantErr: "arch \"z80\" has no SDK image"},
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
			if tc.apk != errors.Is(err, ErrAPKUnsupported) {
				t.Fatalf("apk error = %v, want apk %v", err, tc.apk)
			}
			if !tc.apk && err != nil {
				t.Fatal(err)
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
