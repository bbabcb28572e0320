package remote

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// ErrNotAllowed: the caller may not register (the feature is off, admins only, or the quota
// is used up); the message says which.
var ErrNotAllowed = errors.New("not allowed")

// ErrNameTaken: another repository holds the owner/name; the message suggests --name.
var ErrNameTaken = errors.New("name taken")

// AddedByAdmin is AddRequest.AddedBy for a repository an admin registered.
const AddedByAdmin = "admin"

// AddRequest asks to register a repository by URL.
type AddRequest struct {
	URL     string
	Name    string // "owner/repo"; empty: the URL's last two path segments
	AddedBy string // "<forge>:<login>" of the signed-in user, or "admin"
	Admin   bool
	// Config, when it sets anything, is stored for the repository before its first poll, so
	// that its first build already uses it (its RepoID is filled in).
	Config store.RepoConfig
}

// Added is a registered repository and what its user needs to know.
type Added struct {
	Repo          store.Repository
	Remote        store.Remote
	WebhookURL    string // where a forge may post pushes
	WebhookSecret string
	DeployKey     string // the public half for ssh URLs: add it to the repository, read-only
}

// Add checks and registers a repository by URL; its first poll (and build) follows at once.
func (r *Remotes) Add(ctx context.Context, req AddRequest) (Added, error) {
	if err := r.mayAdd(ctx, req); err != nil {
		return Added{}, err
	}
	u, err := r.cfg.Policy.Check(ctx, req.URL)
	if err != nil {
		return Added{}, err
	}
	owner, name, err := repoName(u.String(), req.Name)
	if err != nil {
		return Added{}, err
	}
	repo, err := r.claim(ctx, owner, name, u.String())
	if err != nil {
		return Added{}, err
	}
	if req.Config.Sets() {
		req.Config.RepoID = repo.ID
		if _, err := r.store.PutRepoConfig(ctx, req.Config); err != nil {
			return Added{}, fmt.Errorf("storing the configuration of %s: %w", repo.Path(), err)
		}
	}
	rem := store.Remote{RepoID: repo.ID, URL: u.String(), AddedBy: req.AddedBy, WebhookSecret: newSecret(), NextPoll: r.now()}
	var public string
	if u.Scheme == "ssh" {
		rem.DeployKey, public, err = newDeployKey(KeyComment(repo))
		if err != nil {
			return Added{}, fmt.Errorf("making the deploy key: %w", err)
		}
	}
	rem, err = r.store.PutRemote(ctx, rem)
	if err != nil {
		return Added{}, fmt.Errorf("registering %s: %w", u, err)
	}
	r.log.Info("repository registered by URL", "repo", repo.Path(), "repo_id", repo.ID, "url", rem.URL, "by", req.AddedBy)
	r.Wake()
	return Added{Repo: repo, Remote: rem, WebhookURL: r.WebhookURL(repo.ID), WebhookSecret: rem.WebhookSecret, DeployKey: public}, nil
}

// WebhookURL is where a repository's pushes may be posted.
func (r *Remotes) WebhookURL(repoID int64) string {
	return strings.TrimSuffix(r.cfg.BaseURL, "/") + "/webhooks/git/" + strconv.FormatInt(repoID, 10)
}

func (r *Remotes) mayAdd(ctx context.Context, req AddRequest) error {
	switch {
	case r.cfg.Allow == AllowOff:
		return fmt.Errorf("%w: registering repositories by URL is switched off on this service", ErrNotAllowed)
	case req.Admin:
		return nil
	case r.cfg.Allow == AllowAdmins:
		return fmt.Errorf("%w: only admins register repositories by URL on this service", ErrNotAllowed)
	case req.AddedBy == "":
		return fmt.Errorf("%w: sign in to register a repository", ErrNotAllowed)
	}
	all, err := r.store.ListRemotes(ctx)
	if err != nil {
		return err
	}
	n := 0
	for _, rem := range all {
		if rem.AddedBy == req.AddedBy {
			n++
		}
	}
	if n >= r.cfg.quota() {
		return fmt.Errorf("%w: you have registered %d repositories, the most this service allows; remove one first", ErrNotAllowed, n)
	}
	return nil
}

// repoName is the owner and name a repository is published under.
func repoName(rawURL, chosen string) (string, string, error) {
	var owner, name string
	if chosen != "" {
		o, n, ok := strings.Cut(chosen, "/")
		if !ok || strings.Contains(n, "/") {
			return "", "", fmt.Errorf("%w: the name %q is not owner/repo", giturl.ErrRefused, chosen)
		}
		owner, name = o, n
	} else {
		u, err := giturl.Parse(rawURL)
		if err != nil {
			return "", "", err
		}
		var ok bool
		if owner, name, ok = giturl.Name(u); !ok {
			return "", "", fmt.Errorf("%w: the URL's path has no owner/repo to publish it under; choose one with --name owner/repo", giturl.ErrRefused)
		}
	}
	if _, err := feeds.RepoDir(owner, name); err != nil {
		return "", "", fmt.Errorf("%w: %s/%s cannot be a feed path (%v); choose another with --name owner/repo", giturl.ErrRefused, owner, name, err)
	}
	return owner, name, nil
}

// claim registers the repository record, or takes back a removed one of the same URL.
func (r *Remotes) claim(ctx context.Context, owner, name, url string) (store.Repository, error) {
	held, err := r.store.RepositoryByPath(ctx, owner, name)
	switch {
	case err == nil && held.Forge == store.ForgeGit && held.Disabled && held.CloneURL == url:
		if err := r.store.SetRepositoryDisabled(ctx, held.ID, false); err != nil {
			return store.Repository{}, err
		}
		held.Disabled = false
		return held, nil
	case err == nil:
		return store.Repository{}, fmt.Errorf("%w: %s is already the name of another repository here; choose another with --name owner/repo", ErrNameTaken, held.Path())
	case !errors.Is(err, store.ErrNotFound):
		return store.Repository{}, err
	}
	repo, err := r.store.PutRepository(ctx, store.Repository{Forge: store.ForgeGit, ForgeID: strconv.FormatInt(newForgeID(), 10),
		Owner: owner, Name: name, CloneURL: url, Private: strings.HasPrefix(url, "ssh://")})
	if errors.Is(err, store.ErrPathTaken) {
		return store.Repository{}, fmt.Errorf("%w: %s/%s is already the name of another repository here; choose another with --name owner/repo", ErrNameTaken, owner, name)
	}
	return repo, err
}

// Remove stops polling and building a repository by URL; its feeds stay until an admin
// deletes them. The event stage disables it and cancels what is pending.
func (r *Remotes) Remove(ctx context.Context, repoID int64) error {
	repo, err := r.store.Repository(ctx, repoID)
	if err != nil {
		return err
	}
	if repo.Forge != store.ForgeGit {
		return fmt.Errorf("%w: %s is not registered by URL; its forge's App or webhook decides", ErrNotAllowed, repo.Path())
	}
	if err := r.store.DeleteRemote(ctx, repoID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	fr := forgeRepo(repo, "")
	_, err = r.inbox.Put(ctx, &forge.Event{Forge: Name, Kind: forge.KindReposRemoved, Repos: []forge.Repo{fr},
		DeliveryID: fmt.Sprintf("remove:%d:%d", repoID, time.Now().UnixNano()), Repo: fr})
	return err
}

func forgeRepo(repo store.Repository, defaultBranch string) forge.Repo {
	id, _ := strconv.ParseInt(repo.ForgeID, 10, 64)
	if defaultBranch == "" {
		defaultBranch = repo.DefaultBranch
	}
	return forge.Repo{Forge: Name, ID: id, Owner: repo.Owner, Name: repo.Name, CloneURL: repo.CloneURL,
		DefaultBranch: defaultBranch, Private: repo.Private}
}

func newSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "ppagit-" + hex.EncodeToString(b)
}

// newForgeID is a repository's identity in the forge "git": random, positive, 63 bits.
func newForgeID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:])>>1) | 1
}
