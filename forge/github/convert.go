package github

import (
	"strings"

	gh "github.com/google/go-github/v88/github"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
)

func user(u *gh.User) forge.User {
	return forge.User{ID: u.GetID(), Login: u.GetLogin()}
}

// owner prefers the owner object, then the full name: installation payloads carry only the
// full name.
func owner(o *gh.User, fullName string) string {
	if l := o.GetLogin(); l != "" {
		return l
	}
	if n := o.GetName(); n != "" {
		return n
	}
	own, _, _ := strings.Cut(fullName, "/")
	return own
}

func repo(r *gh.Repository, inst *gh.Installation) forge.Repo {
	return forge.Repo{
		Forge:         forge.GitHub,
		ID:            r.GetID(),
		Owner:         owner(r.Owner, r.GetFullName()),
		Name:          r.GetName(),
		CloneURL:      r.GetCloneURL(),
		WebURL:        r.GetHTMLURL(),
		DefaultBranch: r.GetDefaultBranch(),
		Private:       r.GetPrivate(),
		Installation:  inst.GetID(),
	}
}

// pushRepo converts the push event's own repository type (its owner carries "name" as well as
// "login").
func pushRepo(r *gh.PushEventRepository, inst *gh.Installation) forge.Repo {
	return forge.Repo{
		Forge:         forge.GitHub,
		ID:            r.GetID(),
		Owner:         owner(r.Owner, r.GetFullName()),
		Name:          r.GetName(),
		CloneURL:      r.GetCloneURL(),
		WebURL:        r.GetHTMLURL(),
		DefaultBranch: r.GetDefaultBranch(),
		Private:       r.GetPrivate(),
		Installation:  inst.GetID(),
	}
}

func repos(rs []*gh.Repository, inst *gh.Installation) []forge.Repo {
	out := make([]forge.Repo, 0, len(rs))
	for _, r := range rs {
		if r == nil {
			continue
		}
		out = append(out, repo(r, inst))
	}
	return out
}

// pull converts a pull request of base repository base. A head without a repository (the fork
// was deleted) counts as a fork: it is not this repository's code.
func pull(p *gh.PullRequest, base *gh.Repository) forge.Pull {
	head := p.GetHead()
	fork := head.GetRepo() == nil || head.GetRepo().GetID() != base.GetID()
	return forge.Pull{
		Number:       p.GetNumber(),
		BaseRef:      p.GetBase().GetRef(),
		HeadRef:      head.GetRef(),
		HeadSHA:      head.GetSHA(),
		FromFork:     fork,
		HeadCloneURL: head.GetRepo().GetCloneURL(),
		Merged:       p.GetMerged(),
	}
}

// firstPull converts the first pull request a check belongs to, or returns nil.
func firstPull(ps []*gh.PullRequest, base *gh.Repository) *forge.Pull {
	for _, p := range ps {
		if p == nil || p.GetNumber() == 0 {
			continue
		}
		pr := pull(p, base)
		return &pr
	}
	return nil
}
