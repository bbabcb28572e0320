package testenv

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// SSHServer is Debian's OpenSSH server run by the test itself (sshd -D -e with a config, host
// key and authorized_keys in a folder of the test's own) on a free loopback port. It serves the
// bare repositories under a root through git-shell only, to the key Authorize named, as the
// user the test runs as.
type SSHServer struct {
	Addr    string // 127.0.0.1:port
	User    string // the login name in URLs: the user the test runs as
	HostKey string // the server's host key, authorized_keys form ("ssh-ed25519 AAAA…")

	root, dir, sshd string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  *SyncBuffer
}

// StartSSHServer starts sshd serving the bare repositories under root (a GitServer's Root,
// whose Commit makes them); it stops when the test ends. It skips (or fails under CI) when
// sshd or git-shell is missing.
func StartSSHServer(t testing.TB, root string) *SSHServer {
	t.Helper()
	sshd := "/usr/sbin/sshd" // sshd insists on being started by its absolute path
	if _, err := os.Stat(sshd); err != nil {
		Missing(t, "sshd", "Debian's openssh-server is not installed (apt-get install --no-install-recommends openssh-server)")
	}
	NeedCommand(t, "git-shell")
	if err := privsepDir(); err != nil {
		Missing(t, "sshd's /run/sshd", err.Error())
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{User: u.Username, root: root, dir: t.TempDir(), sshd: sshd}
	if err := os.WriteFile(s.path("authorized_keys"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 5 { // a port found free may be taken before sshd binds it
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("starting sshd: %v", lastErr)
	return nil
}

// privsepDir makes the folder sshd chroots its unprivileged child into; Debian's service unit
// makes it at boot, which a test machine without systemd never does.
func privsepDir() error {
	const dir = "/run/sshd"
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing and only root may make it", dir)
	}
	return os.MkdirAll(dir, 0o755)
}

func (s *SSHServer) path(name string) string { return filepath.Join(s.dir, name) }

// RepoURL is the ssh:// clone URL of the repository name under the root.
func (s *SSHServer) RepoURL(name string) string {
	return "ssh://" + s.User + "@" + s.Addr + filepath.ToSlash(filepath.Join(s.root, name+".git"))
}

// Authorize makes publicKey (authorized_keys form) the one key the server accepts.
func (s *SSHServer) Authorize(t testing.TB, publicKey string) {
	t.Helper()
	if err := os.WriteFile(s.path("authorized_keys"), []byte(strings.TrimSpace(publicKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ChangeHostKey restarts the server on the same port with a new host key, as a re-installed
// (or impersonated) server would present.
func (s *SSHServer) ChangeHostKey(t testing.TB) {
	t.Helper()
	s.stop()
	if err := os.Remove(s.path("host_key")); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatalf("restarting sshd: %v", err)
	}
}

// Log is what sshd wrote so far (its -e log), for failure messages.
func (s *SSHServer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

func (s *SSHServer) start() error {
	if err := s.hostKey(); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(s.Addr)
	conf := strings.Join([]string{
		"ListenAddress " + host + ":" + port,
		"HostKey " + s.path("host_key"),
		"AuthorizedKeysFile " + s.path("authorized_keys"),
		"PidFile none",
		// The test's temp folders are not the home folder StrictModes expects.
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding no",
		"X11Forwarding no",
		"PermitTTY no",
		// Only git's own commands, as a git host allows; git-shell refuses anything else.
		`ForceCommand git-shell -c "$SSH_ORIGINAL_COMMAND"`,
		"",
	}, "\n")
	if err := os.WriteFile(s.path("sshd_config"), []byte(conf), 0o600); err != nil {
		return err
	}
	log := &SyncBuffer{}
	cmd := exec.Command(s.sshd, "-D", "-e", "-f", s.path("sshd_config"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done, s.log = cmd, done, log
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("sshd exited: %s", log.String())
		default:
		}
		if strings.Contains(log.String(), "Server listening on") {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("sshd did not listen on %s within 10 s: %s", s.Addr, log.String())
}

func (s *SSHServer) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-done
}

// hostKey makes the server's ed25519 host key when there is none.
func (s *SSHServer) hostKey() error {
	if _, err := os.Stat(s.path("host_key")); err == nil {
		return nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "openwrt-ppa test sshd")
	if err != nil {
		return err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	s.HostKey = string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sp)))
	return os.WriteFile(s.path("host_key"), pem.EncodeToMemory(block), 0o600)
}
