package docker

import (
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Builds of different scopes (repositories, trust levels) never share a cache volume: a build
// that poisons its cache poisons only its own.
func TestCacheScopesSeparateVolumes(t *testing.T) {
	e := &Executor{opts: Options{CachePrefix: "c"}}
	seen := map[string]string{}
	for _, scope := range []string{"", "repo1main", "repo1pr", "repo2main"} {
		dl, feeds := e.CacheVolumes(scope, "24.10", "x86_64")
		for _, v := range []string{dl, feeds} {
			if other, ok := seen[v]; ok {
				t.Fatalf("scopes %q and %q share volume %s", other, scope, v)
			}
			seen[v] = scope
		}
	}
	for scope, ok := range map[string]bool{"": true, "abc123": true, "ABC": false, "a-b": false, "../x": false,
		"0123456789abcdef0123456789abcdef": true, "0123456789abcdef0123456789abcdef0": false} {
		if builder.ValidCacheScope(scope) != ok {
			t.Errorf("ValidCacheScope(%q) = %v", scope, !ok)
		}
	}
}
