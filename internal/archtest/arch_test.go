// Package archtest checks the direction of the project's dependencies (DESIGN.md):
// cmd → app → (forge | builder | feeds) → internal; forge, builder and feeds never import each
// other, and internal imports none of them.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/openwrt-ppa/openwrt-ppa/"

// layer names the top folder of a package of the module ("" outside it).
func layer(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return ""
	}
	top, _, _ := strings.Cut(rest, "/")
	return top
}

// allowed lists, for each layer, the layers of the module it may import besides its own.
func allowed() map[string][]string {
	return map[string][]string{
		"cmd":      {"app", "forge", "builder", "feeds", "internal"},
		"app":      {"forge", "builder", "feeds", "internal"},
		"forge":    {"internal"},
		"builder":  {"internal"},
		"feeds":    {"internal"},
		"internal": {},
	}
}

func TestDependenciesPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	rules := allowed()
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		from := layer(fields[0])
		ok, known := rules[from]
		if !known {
			t.Errorf("package %s is in no layer of DESIGN.md's layout", fields[0])
			continue
		}
		checked++
		for _, imp := range fields[1:] {
			to := layer(imp)
			if to == "" || to == from {
				continue
			}
			permitted := false
			for _, l := range ok {
				permitted = permitted || l == to
			}
			if !permitted {
				t.Errorf("%s imports %s: %s may not depend on %s", fields[0], imp, from, to)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d packages checked; go list found too little", checked)
	}
}
