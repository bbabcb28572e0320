package app_test

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// specSpy hands every spec to check before the real executor starts it.
type specSpy struct {
	builder.Executor
	check func(builder.JobSpec)
}

func (s specSpy) Start(ctx context.Context, spec builder.JobSpec) (builder.Run, error) {
	s.check(spec)
	return s.Executor.Start(ctx, spec)
}

// ImageDigest passes the engine's digests on, so the spy changes nothing else.
func (s specSpy) ImageDigest(ctx context.Context, image string) (string, error) {
	if d, ok := s.Executor.(interface {
		ImageDigest(context.Context, string) (string, error)
	}); ok {
		return d.ImageDigest(ctx, image)
	}
	return "", nil
}

// secretsIn lists where the deploy key shows in what a build container gets: the spec itself
// (mounts, names, limits) and every file of the source folder it mounts.
func secretsIn(spec builder.JobSpec, needles ...string) []string {
	var found []string
	dump := fmt.Sprintf("%#v", spec)
	for _, n := range needles {
		if strings.Contains(dump, n) {
			found = append(found, "the spec")
		}
	}
	_ = filepath.WalkDir(spec.SourceDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if strings.Contains(string(b), n) {
				found = append(found, p)
			}
		}
		return nil
	})
	return found
}

// TestEndToEndBySSH: a private repository on a real OpenSSH server is added by its ssh URL;
// the service makes an ed25519 deploy key and shows its public half (the page is app/web's
// TestAddRepoForm), the
// repository's owner puts it in authorized_keys, and the first builds (the default branch and
// the tag already there) publish feeds that verify. The key never reaches a build container; a server that presents another host key
// afterwards is refused and nothing is built from it.
func TestEndToEndBySSH(t *testing.T) {
	e := newE2E(t)
	gs := testenv.StartGitServer(t) // only makes the bare repositories sshd serves
	sshd := testenv.StartSSHServer(t, gs.Root)
	e.cfg.ReposAllowPrivate, e.cfg.ReposPollInterval, e.cfg.AdminToken = true, 2*time.Second, urlAdmin
	var mu sync.Mutex
	var specs []builder.JobSpec
	var leaks []string
	var needles []string // the deploy key's private halves, once known
	e.wrapExec = func(ex builder.Executor) builder.Executor {
		return specSpy{Executor: ex, check: func(spec builder.JobSpec) {
			mu.Lock()
			defer mu.Unlock()
			specs = append(specs, spec)
			leaks = append(leaks, secretsIn(spec, needles...)...)
		}}
	}
	e.start()
	ctx := context.Background()

	sha1 := gs.Commit(t, "dave/private-feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.0"}))
	gs.Tag(t, "dave/private-feed", "v1.0", sha1) // there before registration: built with the default branch
	url := sshd.RepoURL("dave/private-feed")
	code, added := e.api("POST", "/api/v1/repos", `{"url": "`+url+`"}`)
	if code != http.StatusCreated || added["owner"] != "dave" || added["name"] != "private-feed" || added["private"] != true {
		t.Fatalf("POST /api/v1/repos %s: %d %v", url, code, added)
	}
	pub, _ := added["deploy_key"].(string)
	pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(pub))
	if err != nil || pk.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("deploy key %q: %v, want an ed25519 public key", pub, err)
	}
	repo, err := e.rt.Store.RepositoryByPath(ctx, "dave", "private-feed")
	if err != nil {
		t.Fatal(err)
	}
	rem, err := e.rt.Store.Remote(ctx, repo.ID)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(rem.DeployKey)
	if err != nil || string(signer.PublicKey().Marshal()) != string(pk.Marshal()) {
		t.Fatalf("the stored deploy key is not the shown one's private half: %v", err)
	}
	mu.Lock()
	needles = []string{string(rem.DeployKey), strings.Split(string(rem.DeployKey), "\n")[1]}
	mu.Unlock()
	// 1. Until the key is authorized the server refuses it: the poll records why, nothing builds.
	waitFor(t, "the first poll to fail without the key", func() bool {
		r, err := e.rt.Store.Remote(ctx, repo.ID)
		return err == nil && r.Failures > 0 && strings.Contains(r.LastError, "refused the deploy key")
	})
	if bs, _ := e.rt.Store.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID}); len(bs) != 0 {
		t.Fatalf("%d builds before the key was authorized", len(bs))
	}

	// 2. Authorized: the next poll (its backoff is the interval) builds main and the tag.
	sshd.Authorize(t, pub)
	built := map[store.Ref]store.Build{}
	for _, b := range e.waitRepoBuilds("dave", "private-feed", 2) {
		built[b.Ref] = b
	}
	for _, ref := range []store.Ref{{Kind: store.RefBranch, Name: "main"}, {Kind: store.RefTag, Name: "v1.0"}} {
		if b := built[ref]; b.Status != store.StatusSuccess || b.CommitSHA != sha1 {
			t.Fatalf("the first build of %s: %+v (builds %+v)\nsshd: %s", ref, b, built, sshd.Log())
		}
	}
	token, err := e.rt.ReadToken(ctx, "dave", "private-feed")
	if err != nil {
		t.Fatal(err)
	}
	withToken := func(p string) (int, []byte) {
		return e.getAs(p, func(r *http.Request) { r.SetBasicAuth("token", token) })
	}
	if got := testenv.VerifyFeed(t, withToken, "/dave/private-feed/main/24.10/x86_64/", "/dave/private-feed/-/key.pub"); got["hello"] != "1.0-r1" {
		t.Fatalf("feed lists %v", got)
	}
	if code, body := withToken("/dave/private-feed/-/latest/24.10/x86_64/Packages"); code != http.StatusOK || !strings.Contains(string(body), "Package: hello") {
		t.Errorf("the latest feed (the tag there before registration): %d", code)
	}
	if code, _ := e.get("/dave/private-feed/main/24.10/x86_64/Packages"); code == http.StatusOK {
		t.Error("the private repository's feed is served without its read token")
	}
	rem, _ = e.rt.Store.Remote(ctx, repo.ID)
	if rem.HostKey != sshd.HostKey {
		t.Fatalf("pinned host key %q, want the server's %q", rem.HostKey, sshd.HostKey)
	}

	// 3. The key never entered a build container.
	mu.Lock()
	if len(specs) == 0 || len(leaks) > 0 {
		t.Errorf("%d builds started; the deploy key showed in %v", len(specs), leaks)
	}
	mu.Unlock()

	// 4. Another host key on the same address: refused, nothing fetched or built.
	sshd.ChangeHostKey(t)
	gs.Commit(t, "dave/private-feed", "main", repoFiles(e2eConfig, map[string]string{"hello": "1.1"}))
	before := rem.Failures
	if _, err := e.rt.Store.UpdateRemote(ctx, repo.ID, func(r *store.Remote) error {
		r.NextPoll = time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the poll to refuse the changed host key", func() bool {
		r, err := e.rt.Store.Remote(ctx, repo.ID)
		return err == nil && r.Failures > before && strings.Contains(r.LastError, "host key changed")
	})
	rem, _ = e.rt.Store.Remote(ctx, repo.ID)
	if !strings.Contains(rem.LastError, "remove and add the repository again") || rem.HostKey == sshd.HostKey {
		t.Errorf("after the host key changed: error %q, pinned %q", rem.LastError, rem.HostKey)
	}
	if bs, _ := e.rt.Store.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID}); len(bs) != 2 {
		t.Errorf("%d builds, want only the first two: a server with another host key was built from", len(bs))
	}
}
