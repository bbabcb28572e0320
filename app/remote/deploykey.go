package remote

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/url"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// newDeployKey makes an ed25519 key pair: the private half as OpenSSH PEM (kept in the store),
// the public half in authorized_keys form (shown to the user, who adds it to the repository as
// a read-only deploy key).
func newDeployKey(comment string) (private []byte, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(block), string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(sp))) + " " + comment, nil
}

// KeyComment is the comment of a repository's deploy key: it names the service and the
// repository wherever the key is listed.
func KeyComment(repo store.Repository) string { return "openwrt-ppa " + repo.Path() }

// PublicKey is the public half of a remote's deploy key, or "" for https.
func PublicKey(rem store.Remote, comment string) string {
	if len(rem.DeployKey) == 0 {
		return ""
	}
	signer, err := ssh.ParsePrivateKey(rem.DeployKey)
	if err != nil {
		return ""
	}
	return string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment
}

var errHostKeyChanged = errors.New("the ssh server's host key changed")

// deployAuth is the ssh credential of a remote: its deploy key, sent only to the host of its
// URL (the checked ssh transport dials that host's checked address), and the host key pinned at
// first contact. https remotes have none.
func (r *Remotes) deployAuth(rem store.Remote) (transport.AuthMethod, error) {
	u, err := url.Parse(rem.URL)
	if err != nil || u.Scheme != "ssh" {
		return nil, nil
	}
	if len(rem.DeployKey) == 0 {
		return nil, fmt.Errorf("%s is an ssh URL but the repository has no deploy key; register it again", rem.URL)
	}
	user := "git"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	keys, err := gitssh.NewPublicKeys(user, rem.DeployKey, "")
	if err != nil {
		return nil, fmt.Errorf("reading the deploy key of repository %d: %w", rem.RepoID, err)
	}
	pinned := rem.HostKey
	repoID := rem.RepoID
	keys.HostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		got := string(bytes.TrimSpace(ssh.MarshalAuthorizedKey(key)))
		if pinned == "" {
			// First contact: trust and remember it, as ssh does with known_hosts.
			_, err := r.store.UpdateRemote(context.Background(), repoID, func(x *store.Remote) error {
				if x.HostKey != "" && x.HostKey != got {
					return errHostKeyChanged
				}
				x.HostKey = got
				return nil
			})
			return err
		}
		if got != pinned {
			return fmt.Errorf("%w (it was %s, now %s): if the server was re-installed, remove and add the repository again", errHostKeyChanged, pinned, got)
		}
		return nil
	}
	return keys, nil
}
