package builder

import "testing"

// A submodule of a repository fetched through a checking transport is fetched through it too.
func TestInheritWrapper(t *testing.T) {
	cases := []struct{ main, sub, want string }{
		{"ppa-checked+https://git.example/a/b.git", "https://10.0.0.1/x.git", "ppa-checked+https://10.0.0.1/x.git"},
		{"ppa-checked+ssh://git@git.example/a/b.git", "ssh://git@h/x.git", "ppa-checked+ssh://git@h/x.git"},
		{"ppa-checked+https://git.example/a/b.git", "ppa-checked+https://h/x.git", "ppa-checked+https://h/x.git"},
		{"ppa-checked+https://git.example/a/b.git", "git@h:x.git", "git@h:x.git"}, // ssh without credentials: refused anyway
		{"https://github.com/a/b.git", "https://10.0.0.1/x.git", "https://10.0.0.1/x.git"},
	}
	for _, c := range cases {
		if got := inheritWrapper(c.main, c.sub); got != c.want {
			t.Errorf("inheritWrapper(%q, %q) = %q, want %q", c.main, c.sub, got, c.want)
		}
	}
}
