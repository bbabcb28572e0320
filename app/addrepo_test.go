package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/openwrt-ppa/openwrt-ppa/app/kubeapi"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// TestOwnerOfARepositoryByURL: whoever added a private repository by URL may see and rebuild
// it and sees its remote's details (deploy key, webhook secret); another user, the same login
// on another forge, and everybody once it is removed may not; an admin always may.
func TestOwnerOfARepositoryByURL(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, t.TempDir(), nil)
	st := h.svc.store
	repo, err := st.PutRepository(ctx, store.Repository{Forge: store.ForgeGit, ForgeID: "77", Owner: "dave", Name: "private",
		CloneURL: "ssh://git@git.example.org/dave/private.git", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutRemote(ctx, store.Remote{RepoID: repo.ID, URL: repo.CloneURL, AddedBy: "github:dave",
		WebhookSecret: "ppagit-secret", DeployKey: pem.EncodeToMemory(block), LastError: "the ssh server refused the deploy key"}); err != nil {
		t.Fatal(err)
	}
	auth, reg := authorizer{h.svc}, registrar{h.svc.remotes}
	dave, mallory := web.User{Forge: "github", Login: "dave"}, web.User{Forge: "github", Login: "mallory"}
	gitlabDave, admin := web.User{Forge: "gitlab", Login: "dave"}, web.User{Forge: "admin", Login: "admin"}
	check := func(when string, u web.User, want bool) {
		t.Helper()
		for name, ask := range map[string]func(context.Context, store.Repository, web.User) (bool, error){"read": auth.CanRead, "write": auth.CanWrite} {
			if got, err := ask(ctx, repo, u); err != nil || got != want {
				t.Errorf("%s: %s:%s may %s: %v (%v), want %v", when, u.Forge, u.Login, name, got, err, want)
			}
		}
		rem, ok, err := reg.RepoRemote(ctx, u, repo)
		if want || u.Admin() {
			wantKey := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(mustSigner(t, priv).PublicKey())))
			if err != nil || !ok || rem.WebhookSecret != "ppagit-secret" || !strings.HasPrefix(rem.DeployKey, wantKey+" openwrt-ppa dave/private") ||
				!strings.Contains(rem.WebhookURL, "/webhooks/git/") || rem.LastError == "" {
				t.Errorf("%s: %s sees %+v, %v, %v; want the remote's details", when, u.Login, rem, ok, err)
			}
		} else if ok || rem.WebhookSecret != "" {
			t.Errorf("%s: %s:%s sees the remote's details", when, u.Forge, u.Login)
		}
	}
	check("added", dave, true)
	check("added", mallory, false)
	check("added", gitlabDave, false)
	if err := st.DeleteRemote(ctx, repo.ID); err != nil {
		t.Fatal(err)
	}
	check("removed", dave, false)
	if _, ok, err := reg.RepoRemote(ctx, admin, repo); ok || err != nil {
		t.Errorf("a removed remote's details: %v %v", ok, err)
	}
}

func mustSigner(t *testing.T, priv ed25519.PrivateKey) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestRebuildOverTheBuildMinutesIsRefused: the service hands the event stage the minutes of
// repositories by URL, so a rebuild (the API's, a Build resource's) of one whose adder used up
// the month's minutes is refused as not buildable (the API's 409, a Build's Refused), with why.
func TestRebuildOverTheBuildMinutesIsRefused(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, t.TempDir(), func(c *Config, _ *Deps) { c.ReposBuildMinutes = 1 })
	st := h.svc.store
	repo, err := st.PutRepository(ctx, store.Repository{Forge: store.ForgeGit, ForgeID: "78", Owner: "dave", Name: "pkgs",
		CloneURL: "https://git.example.org/dave/pkgs.git"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutRemote(ctx, store.Remote{RepoID: repo.ID, URL: repo.CloneURL, AddedBy: "github:dave"}); err != nil {
		t.Fatal(err)
	}
	main := store.Ref{Kind: store.RefBranch, Name: "main"}
	b, err := st.CreateBuild(ctx, store.Build{RepoID: repo.ID, CommitSHA: strings.Repeat("c", 40), Ref: main,
		Trigger: store.TriggerPush, Status: store.StatusSuccess, Created: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-2 * time.Minute)
	if _, err := st.CreateJobs(ctx, []store.Job{{BuildID: b.ID, Series: "24.10", Arch: "x86_64", Status: store.StatusSuccess,
		Created: start, Started: start, Finished: start.Add(2 * time.Minute)}}); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.events.Rebuild(ctx, repo.ID, main, "dave")
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "2 of the 1 minutes") || !strings.Contains(err.Error(), "ask the operator to raise the limit") {
		t.Errorf("rebuild over the minutes: %v", err)
	}
	_, err = kubeBackend{s: h.svc}.StartBuild(ctx, kubeapi.BuildRequest{RepoID: repo.ID, Ref: main, SHA: b.CommitSHA, Actor: "dave"})
	if !errors.Is(err, kubeapi.ErrRefused) || !strings.Contains(err.Error(), "used up") {
		t.Errorf("Build resource over the minutes: %v", err)
	}
}
