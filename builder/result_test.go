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
