// Package archtest checks the direction of the project's dependencies (DESIGN.md):
// cmd → app → (forge | builder | feeds) → internal; forge, builder and feeds never import each
// other, and internal imports none of them. Inside app, the stages of the data's way point one
// way too (docs/architecture.md): TestAppStagesPointOneWay.
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
		"cmd":      {"app", "api", "forge", "builder", "feeds", "internal"},
		"app":      {"api", "forge", "builder", "feeds", "internal"},
		"api":      {}, // the custom resources' types: a vocabulary, importing nothing of ours
		"forge":    {"internal"},
		"builder":  {"internal"},
		"feeds":    {"internal"},
		"internal": {},
		// The chart's folder holds only its tests (of the whole service, deployed).
		"charts": {"app", "forge", "builder", "feeds", "internal"},
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

// TestAPIImportsOnlyApimachinery keeps the custom resources' types light: a client of the
// Kubernetes API (kubectl plugins, GitOps tools, the web GUI) imports them without the service,
// client-go or a controller framework.
func TestAPIImportsOnlyApimachinery(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"api/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, line := range lines {
		fields := strings.Fields(line)
		for _, imp := range fields[1:] {
			first, _, _ := strings.Cut(imp, "/")
			stdlib := !strings.Contains(first, ".")
			if !stdlib && !strings.HasPrefix(imp, "k8s.io/apimachinery/") {
				t.Errorf("%s imports %s: api may import only the standard library and k8s.io/apimachinery", fields[0], imp)
			}
		}
	}
	if len(lines) < 1 || !strings.HasPrefix(lines[0], module+"api/") {
		t.Fatalf("go list found no package under api/: %q", out)
	}
}

// room names the package of app a package belongs to: "app" itself, a stage ("events", "jobs",
// …) or a shared part below them ("internal/model"); "" outside app.
func room(pkg string) string {
	rest, ok := strings.CutPrefix(pkg, module+"app")
	if !ok || (rest != "" && rest[0] != '/') {
		return ""
	}
	rest = strings.TrimPrefix(rest, "/")
	if rest == "" {
		return "app"
	}
	parts := strings.Split(rest, "/")
	if parts[0] == "internal" && len(parts) > 1 {
		return "internal/" + parts[1]
	}
	return parts[0]
}

// appAllowed lists, for each room of app, the rooms it may import besides its own. The stages
// never import each other except downwards: events and jobs hand work to publish and report,
// upkeep tidies through publish, and all share the vocabulary of app/internal.
func appAllowed() map[string][]string {
	shared := []string{"internal/model", "internal/datadir", "internal/metrics"}
	with := func(rooms ...string) []string { return append(rooms, shared...) }
	return map[string][]string{
		"app":              with("events", "jobs", "upkeep", "local", "web", "keys", "publish", "report", "remote", "kubeapi"),
		"events":           with("publish", "report"),
		"jobs":             with("publish", "report"),
		"upkeep":           with("publish"),
		"publish":          with("keys"),
		"report":           with("web"), // web.FeedName: the check summary names the feed as the pages do
		"remote":           {},          // repositories by URL: hands events to events through the inbox, never imports it
		"keys":             {},
		"kubeapi":          with(), // the Kubernetes controller: the stages reach it only through its Backend, wired by app
		"local":            {},
		"web":              {},
		"internal/model":   {},
		"internal/datadir": {},
		"internal/metrics": {},
		"internal/apptest": {"publish"}, // test helpers: imported by tests only
	}
}

func TestAppStagesPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"app/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	rules := appAllowed()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		from := room(fields[0])
		ok, known := rules[from]
		if !known {
			t.Errorf("package %s is in no room of app's table: add it to appAllowed and docs/architecture.md", fields[0])
			continue
		}
		seen[from] = true
		for _, imp := range fields[1:] {
			to := room(imp)
			if to == "" || to == from {
				continue
			}
			permitted := false
			for _, r := range ok {
				permitted = permitted || r == to
			}
			if !permitted {
				t.Errorf("%s imports %s: app/%s may not depend on app/%s", fields[0], imp, from, to)
			}
		}
	}
	for r := range rules {
		if !seen[r] {
			t.Errorf("app's table names %s, but go list found no such package", r)
		}
	}
}

func TestRoom(t *testing.T) {
	cases := map[string]string{
		module + "app":                     "app",
		module + "app/events":              "events",
		module + "app/web":                 "web",
		module + "app/internal/model":      "internal/model",
		module + "app/internal/model/deep": "internal/model",
		module + "apps":                    "",
		module + "builder":                 "",
		"example.org/app/events":           "",
	}
	for pkg, want := range cases {
		if got := room(pkg); got != want {
			t.Errorf("room(%q) = %q, want %q", pkg, got, want)
		}
	}
}
