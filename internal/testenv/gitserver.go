package testenv

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// GitServer is a real git smart-HTTP server (git http-backend behind net/http/cgi) on loopback,
// serving the bare repositories under Root. Tests push to it with Commit and clone from URL.
type GitServer struct {
	URL  string // http://127.0.0.1:port; a repository is URL + "/" + name + ".git"
	Root string
	git  string

	// TLS, for a server from StartGitServerTLS, is a client configuration that trusts its
	// certificate (issued for 127.0.0.1); nil for plain HTTP.
	TLS     *tls.Config
	CertPEM []byte // its certificate, PEM: a CA file for programs that read one

	mu   sync.Mutex
	auth func(user, password string) bool
}

// RequireAuth makes the server answer 401 to requests whose basic auth check refuses, as a
// forge does for a private repository.
func (s *GitServer) RequireAuth(check func(user, password string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.auth = check
}

func (s *GitServer) serve(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		check := s.auth
		s.mu.Unlock()
		if check != nil {
			user, pass, ok := r.BasicAuth()
			if !ok || !check(user, pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// StartGitServer starts a git server for the test; it stops when the test ends. It skips (or
// fails under CI) when git is missing.
func StartGitServer(t testing.TB) *GitServer {
	t.Helper()
	return startGitServer(t, "127.0.0.1", false)
}

// StartGitServerTLS is StartGitServer over https, as the service needs for repositories given
// by URL; GitServer.TLS trusts its certificate.
func StartGitServerTLS(t testing.TB) *GitServer {
	t.Helper()
	return startGitServer(t, "127.0.0.1", true)
}

// StartGitServerOn is StartGitServer listening on host (an address of this machine that pods of
// a test cluster reach, e.g. the node's IP).
func StartGitServerOn(t testing.TB, host string) *GitServer {
	t.Helper()
	return startGitServer(t, host, false)
}

func startGitServer(t testing.TB, host string, useTLS bool) *GitServer {
	t.Helper()
	gs, closeFn, err := newGitServer(NeedCommand(t, "git"), t.TempDir(), host, useTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return gs
}

func newGitServer(gitPath, root, host string, useTLS bool) (*GitServer, func(), error) {
	h := &cgi.Handler{
		Path:   gitPath,
		Stderr: io.Discard, // "not a git repository" for tests of missing repositories
		Args:   []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + root,
		},
	}
	if useTLS {
		gs := &GitServer{Root: root, git: gitPath}
		srv := httptest.NewUnstartedServer(gs.serve(h))
		srv.StartTLS()
		gs.URL = srv.URL
		gs.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
		gs.TLS = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, MinVersion: tls.VersionTLS12}
		return gs, srv.Close, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, nil, fmt.Errorf("git server: listening on %s: %w", host, err)
	}
	gs := &GitServer{URL: "http://" + ln.Addr().String(), Root: root, git: gitPath}
	srv := &http.Server{Handler: gs.serve(h)}
	go func() { _ = srv.Serve(ln) }()
	return gs, func() { _ = srv.Close() }, nil
}

// RepoURL is the clone URL of the repository name.
func (s *GitServer) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// Commit makes a commit on branch (created if needed) of repository name (created bare if
// needed) whose tree is exactly files (path → content; a path ending in "@" is made a symlink to
// the content), and returns the commit hash.
func (s *GitServer) Commit(t testing.TB, name, branch string, files map[string]string) string {
	t.Helper()
	return s.commit(t, name, branch, files)
}

// commit is Commit with extra environment for git (fixed dates make the hash reproducible).
func (s *GitServer) commit(t testing.TB, name, branch string, files map[string]string, env ...string) string {
	t.Helper()
	bare := filepath.Join(s.Root, name+".git")
	if _, err := os.Stat(bare); os.IsNotExist(err) {
		runGit(t, s.git, "", "init", "-q", "--bare", "-b", branch, bare)
	}
	work := t.TempDir()
	runGit(t, s.git, work, "init", "-q", "-b", branch)
	writeTree(t, work, files)
	runGit(t, s.git, work, "add", "-A")
	runGitEnv(t, s.git, work, env, "commit", "-q", "-m", "test commit")
	runGit(t, s.git, work, "push", "-q", "-f", bare, "HEAD:refs/heads/"+branch)
	return strings.TrimSpace(runGit(t, s.git, work, "rev-parse", "HEAD"))
}

// Tag tags commit in repository name (a lightweight tag).
func (s *GitServer) Tag(t testing.TB, name, tag, commit string) {
	t.Helper()
	runGit(t, s.git, filepath.Join(s.Root, name+".git"), "tag", "-f", tag, commit)
}

// GitRepo makes a local (non-bare) repository with one commit of files and returns its folder
// and commit hash. It skips (or fails under CI) when git is missing.
func GitRepo(t testing.TB, files map[string]string) (dir, commit string) {
	t.Helper()
	gitPath := NeedCommand(t, "git")
	dir = t.TempDir()
	runGit(t, gitPath, dir, "init", "-q", "-b", "main")
	writeTree(t, dir, files)
	runGit(t, gitPath, dir, "add", "-A")
	runGit(t, gitPath, dir, "commit", "-q", "-m", "test commit")
	return dir, strings.TrimSpace(runGit(t, gitPath, dir, "rev-parse", "HEAD"))
}

// GitCommit commits files (added to what is there) in the local repository dir and returns the hash.
func GitCommit(t testing.TB, dir string, files map[string]string) string {
	t.Helper()
	gitPath := NeedCommand(t, "git")
	writeTree(t, dir, files)
	runGit(t, gitPath, dir, "add", "-A")
	runGit(t, gitPath, dir, "commit", "-q", "--allow-empty", "-m", "test commit")
	return strings.TrimSpace(runGit(t, gitPath, dir, "rev-parse", "HEAD"))
}

// Git runs git with args in dir and returns its output, failing the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return runGit(t, NeedCommand(t, "git"), dir, args...)
}

func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		link := strings.HasSuffix(n, "@")
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(n, "@")))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if link {
			err = os.Symlink(files[n], p)
		} else {
			mode := os.FileMode(0o644)
			if strings.HasPrefix(files[n], "#!") {
				mode = 0o755
			}
			err = os.WriteFile(p, []byte(files[n]), mode)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func runGit(t testing.TB, gitPath, dir string, args ...string) string {
	t.Helper()
	return runGitEnv(t, gitPath, dir, nil, args...)
}

func runGitEnv(t testing.TB, gitPath, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gitPath, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=test", "GIT_AUTHOR_EMAIL=test@example.org",
		"GIT_COMMITTER_NAME=test", "GIT_COMMITTER_EMAIL=test@example.org",
		"GIT_ALLOW_PROTOCOL=file:http:https",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
