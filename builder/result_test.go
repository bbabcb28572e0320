package builder

import "testing"

func TestPackageOfFile(t *testing.T) {
	cases := []struct{ file, arch, want string }{
		{"hello_1.0-r1_x86_64.ipk", "x86_64", "hello"},
		{"hello_extra_1.0-r1_x86_64.ipk", "x86_64", "hello_extra"},
		{"luci-app-x_git-24.1-abc_all.ipk", "mipsel_24kc", "luci-app-x"},
		{"hello_1.0_mips_24kc.ipk", "x86_64", ""},
		{"hello.ipk", "x86_64", ""},
		{"hello_1.0_x86_64.tar", "x86_64", ""},
	}
	for _, c := range cases {
		if got := packageOfFile(c.file, c.arch); got != c.want {
			t.Errorf("packageOfFile(%q, %q) = %q, want %q", c.file, c.arch, got, c.want)
		}
	}
}

func TestAPKPackageOfFile(t *testing.T) {
	names := []string{"foo", "foo-extra", "foo-2", "luci-app-x"}
	cases := []struct{ file, want string }{
		{"foo-1.0-r1.apk", "foo"},
		{"foo-extra-1.0-r1.apk", "foo-extra"},
		{"foo-2-1.0-r1.apk", "foo-2"},
		{"foo-2.1-r1.apk", "foo"}, // version 2.1 of foo
		{"luci-app-x-26.001.12345~abcdef-r1.apk", "luci-app-x"},
		{"foo-bar-1.0-r1.apk", ""},
		{"foo_1.0-r1_x86_64.ipk", ""},
		{"foo-1.0-r1-r2.apk", ""},
	}
	for _, c := range cases {
		if got := apkPackageOfFile(c.file, names); got != c.want {
			t.Errorf("apkPackageOfFile(%q) = %q, want %q", c.file, got, c.want)
		}
	}
}
