package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestBuildCommandLineMistakes: what is wrong on the command line is said before Docker or a
// clone is asked for anything, with what to do; flags that are wrong exit 2 and are named as
// flags, never as mistakes of the repository's .openwrt-ppa.yml.
func TestBuildCommandLineMistakes(t *testing.T) {
	repo := t.TempDir() // a plain folder: the flag checks come first
	keyFile := writeSSHKey(t)
	cases := map[string]struct {
		args   []string
		code   int
		want   []string // in stderr
		absent []string
	}{
		"unknown series": {args: []string{"--series", "19.07", repo}, code: 2,
			want: []string{`--series "19.07" is not a series`, "24.10", "see --help"}, absent: []string{".openwrt-ppa.yml"}},
		"unknown arch": {args: []string{"--arch", "x86_65", repo}, code: 2,
			want: []string{`--arch "x86_65" is not an arch`, "x86_64", "mips_24kc"}, absent: []string{".openwrt-ppa.yml"}},
		"arch not in the series": {args: []string{"--series", "23.05", "--arch", "x86_65", repo}, code: 2,
			want: []string{`--arch "x86_65" has no SDK image for series 23.05`, "x86_64"}},
		"bad label": {args: []string{"--label", "novalue", repo}, code: 2, want: []string{`--label "novalue" is not KEY=VALUE`}},
		"no folder": {args: []string{filepath.Join(repo, "missing")}, code: 1, want: []string{"neither a git URL nor a folder"}},
		"a file":    {args: []string{keyFile}, code: 1, want: []string{"is a file, not a folder"}},
		"remote file URL": {args: []string{"file://example.org/srv/repo"}, code: 1,
			want: []string{`names host "example.org"`, "file:///path"}},
		"ssh without an agent": {args: []string{"ssh://git@127.0.0.1:1/o/r.git"}, code: 1,
			want: []string{"no ssh agent runs here", "ssh-agent", "https URL", "--ssh-key FILE"}},
		"scp-like without an agent": {args: []string{"git@127.0.0.1:o/r.git"}, code: 1, want: []string{"no ssh agent runs here"}},
		"ssh key missing": {args: []string{"--ssh-key", filepath.Join(repo, "nokey"), "ssh://git@127.0.0.1:1/o/r.git"}, code: 1,
			want: []string{"--ssh-key " + filepath.Join(repo, "nokey")}},
		"ssh key for https": {args: []string{"--ssh-key", keyFile, "https://127.0.0.1:1/o/r.git"}, code: 1,
			want: []string{"--ssh-key is for ssh URLs"}},
		"ref of a plain folder": {args: []string{repo + "@main"}, code: 1, want: []string{"is built as it is, which has no ref"}},
		"as-is of a remote":     {args: []string{"--as-is", "https://127.0.0.1:1/o/r.git"}, code: 1, want: []string{"--as-is builds a local folder"}},
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	os.Unsetenv("SSH_AUTH_SOCK")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock") // none of these may get as far as Docker
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr testenv.SyncBuffer
			code := runBuild(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			for _, a := range append(tc.absent, "Docker") {
				if strings.Contains(stderr.String(), a) {
					t.Errorf("stderr has %q:\n%s", a, stderr.String())
				}
			}
		})
	}
}

// An ssh key file that parses is taken: the build gets as far as asking Docker.
func TestBuildTakesSSHKey(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	var stdout, stderr testenv.SyncBuffer
	code := runBuild(context.Background(), []string{"--ssh-key", writeSSHKey(t), "ssh://git@127.0.0.1:1/o/r.git"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no Docker engine answers") {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
}

func writeSSHKey(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(testenv.NeedCommand(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", p).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	return p
}

// TestCommandsTakeOnlyTheirFlags: each command lists and accepts its own flags, not every one of
// serve's.
func TestCommandsTakeOnlyTheirFlags(t *testing.T) {
	cases := []struct {
		args      []string
		has, lack []string
	}{
		{[]string{"worker", "--help"}, []string{"-redis", "-data", "-visibility-timeout", "-job-timeout", "-github-app-id"},
			[]string{"-listen", "-session-secret", "-admin-token", "-github-client-secret", "-queue-limit", "-keep-builds"}},
		{[]string{"keys", "export", "--help"}, []string{"-data", "-redis", "-key-encryption-key", "-out"},
			[]string{"-listen", "-session-secret", "-workers", "-image", "-github-app-id", "-replace"}},
		{[]string{"keys", "import", "--help"}, []string{"-data", "-replace"}, []string{"-listen", "-out"}},
		{[]string{"gitlab-secrets", "add", "--help"}, []string{"-data", "-group", "-note"}, []string{"-listen", "-workers"}},
		{[]string{"serve", "--help"}, []string{"-listen", "-session-secret", "-redis", "-workers"}, nil},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr testenv.SyncBuffer
			if code := dispatch(context.Background(), tc.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr.String())
			}
			for _, f := range tc.has {
				if !regexp.MustCompile(`(?m)^\s+` + f + `\b`).MatchString(stderr.String()) {
					t.Errorf("--help lacks %s:\n%s", f, stderr.String())
				}
			}
			for _, f := range tc.lack {
				if regexp.MustCompile(`(?m)^\s+` + f + `\b`).MatchString(stderr.String()) {
					t.Errorf("--help lists %s, which is not this command's:\n%s", f, stderr.String())
				}
			}
		})
	}
	data := t.TempDir()
	refused := [][]string{
		{"worker", "--redis", "redis://127.0.0.1:1/0", "--listen", ":8080"},
		{"keys", "export", "--data", data, "--workers", "2"},
		{"gitlab-secrets", "list", "--data", data, "--session-secret", "x"},
	}
	for _, args := range refused {
		var stdout, stderr testenv.SyncBuffer
		if code := dispatch(context.Background(), args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "flag provided but not defined") {
			t.Errorf("%q: exit %d, want 2 for a flag not its own:\n%s", args, code, stderr.String())
		}
	}
	// A setting the command does not take is not read from the environment either.
	t.Setenv("OPENWRT_PPA_WORKERS", "not a number")
	var stdout, stderr testenv.SyncBuffer
	if code := dispatch(context.Background(), []string{"keys", "export", "--data", data}, &stdout, &stderr); code != 2 || strings.Contains(stderr.String(), "WORKERS") {
		t.Errorf("keys export read OPENWRT_PPA_WORKERS: exit %d\n%s", code, stderr.String())
	}
}

// TestUsageColumns: the summaries of the command list start in one column.
func TestUsageColumns(t *testing.T) {
	var stdout, stderr testenv.SyncBuffer
	if code := dispatch(context.Background(), []string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatal(code)
	}
	col := -1
	for _, c := range commands() {
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + ` +` + regexp.QuoteMeta(c.summary) + `$`)
		m := re.FindStringIndex(stdout.String())
		if m == nil {
			t.Fatalf("no line for %s:\n%s", c.name, stdout.String())
		}
		line := stdout.String()[m[0]:m[1]]
		at := strings.Index(line, c.summary)
		if col == -1 {
			col = at
		} else if at != col {
			t.Errorf("%s's summary starts at column %d, the others' at %d:\n%s", c.name, at, col, stdout.String())
		}
	}
}

// TestStoreCommandsWithoutAStore: actions that only read refuse a --data holding no store, name
// it, and make nothing there.
func TestStoreCommandsWithoutAStore(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nodata")
	for _, args := range [][]string{
		{"keys", "export", "--data", missing},
		{"gitlab-secrets", "list", "--data", missing},
		{"gitlab-secrets", "remove", "--data", missing, "3"},
	} {
		var stdout, stderr testenv.SyncBuffer
		code := dispatch(context.Background(), args, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), "no store at --data "+missing) || !strings.Contains(stderr.String(), filepath.Join(missing, "db.sqlite")) {
			t.Errorf("%q: exit %d\n%s", args, code, stderr.String())
		}
		if _, err := os.Stat(missing); !os.IsNotExist(err) {
			t.Fatalf("%q made %s: %v", args, missing, err)
		}
		if strings.Contains(stderr.String(), "exported") {
			t.Errorf("%q exported from nothing:\n%s", args, stderr.String())
		}
	}
	// An id that is no number is refused before any store is opened.
	var stdout, stderr testenv.SyncBuffer
	if code := dispatch(context.Background(), []string{"gitlab-secrets", "add", "--data", missing, "abc"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `"abc" is no id`) {
		t.Errorf("add abc: exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("add with a bad id made %s", missing)
	}
	// Unknown actions name the known ones.
	stderr = testenv.SyncBuffer{}
	if code := dispatch(context.Background(), []string{"keys", "backup"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "use one of export, import") {
		t.Errorf("keys backup: exit %d\n%s", code, stderr.String())
	}
}
