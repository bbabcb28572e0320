package testenv

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestSSHServerServesGitOnly: the authorized key lists a repository's refs through
// git-upload-pack; any other command is refused by git-shell, another key by sshd, and after
// ChangeHostKey the server presents a different host key.
func TestSSHServerServesGitOnly(t *testing.T) {
	gs := StartGitServer(t)
	sha := gs.Commit(t, "o/r", "main", map[string]string{"a": "1\n"})
	s := StartSSHServer(t, gs.Root)
	signer, pub := testKey(t)
	s.Authorize(t, pub)

	run := func(signer ssh.Signer, cmd string) (string, string, error) {
		var seen string
		c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
				seen = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
				return nil
			}})
		if err != nil {
			return "", seen, err
		}
		defer c.Close()
		sess, err := c.NewSession()
		if err != nil {
			return "", seen, err
		}
		defer sess.Close()
		sess.Stdin = strings.NewReader("0000")
		out, err := sess.CombinedOutput(cmd)
		return string(out), seen, err
	}
	url := s.RepoURL("o/r")
	path := url[strings.Index(url[len("ssh://"):], "/")+len("ssh://"):]
	out, seen, err := run(signer, "git-upload-pack '"+path+"'")
	if err != nil || !strings.Contains(out, sha+" refs/heads/main") {
		t.Fatalf("git-upload-pack: %v\n%s\nsshd: %s", err, out, s.Log())
	}
	if seen != s.HostKey {
		t.Fatalf("host key %q, want %q", seen, s.HostKey)
	}
	if out, _, err := run(signer, "cat /etc/passwd"); err == nil || strings.Contains(out, "root:") {
		t.Fatalf("a shell command ran: %v\n%s", err, out)
	}
	other, _ := testKey(t)
	if _, _, err := run(other, "git-upload-pack '"+path+"'"); err == nil {
		t.Fatal("a key that is not authorized was accepted")
	}
	old := s.HostKey
	s.ChangeHostKey(t)
	if _, seen, err := run(signer, "git-upload-pack '"+path+"'"); err != nil || seen == old || seen != s.HostKey {
		t.Fatalf("after ChangeHostKey: %v, host key %q (old %q, want %q)", err, seen, old, s.HostKey)
	}
}

func testKey(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}
