package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// tick is how often the poller looks for repositories that are due.
const tick = time.Second

// listTimeout bounds one listing of a repository's refs.
const listTimeout = time.Minute

// Run polls every repository by URL when it is due, until ctx ends.
func (r *Remotes) Run(ctx context.Context) {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		r.pollDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.wake:
		}
	}
}

func (r *Remotes) pollDue(ctx context.Context) {
	all, err := r.store.ListRemotes(ctx)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn("listing repositories by URL to poll", "err", err)
		}
		return
	}
	now := r.now()
	for _, rem := range all {
		if ctx.Err() != nil {
			return
		}
		if rem.NextPoll.After(now) {
			continue
		}
		if err := r.Poll(ctx, rem.RepoID); err != nil && ctx.Err() == nil {
			r.log.Warn("polling a repository by URL", "repo_id", rem.RepoID, "err", err)
		}
	}
}

// PollSoon makes the poller look at a repository at its next round: a push webhook arrived.
func (r *Remotes) PollSoon(ctx context.Context, repoID int64) error {
	now := r.now()
	if _, err := r.store.UpdateRemote(ctx, repoID, func(rem *store.Remote) error {
		rem.NextPoll = now
		return nil
	}); err != nil {
		return err
	}
	r.Wake()
	return nil
}

// Poll lists a repository's refs and hands the event stage a push for each branch or tag that
// moved since the last listing. The first listing builds the default branch and the newest
// firstTags tags (so the feeds of released versions, and latest, exist at once); other
// branches wait for their next push. Failures back off exponentially.
func (r *Remotes) Poll(ctx context.Context, repoID int64) error {
	rem, err := r.store.Remote(ctx, repoID)
	if err != nil {
		return err
	}
	repo, err := r.store.Repository(ctx, repoID)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithTimeout(ctx, listTimeout)
	refs, head, err := r.listRefs(lctx, rem)
	cancel()
	if err != nil {
		err = explainListError(err)
		_, uerr := r.store.UpdateRemote(ctx, repoID, func(x *store.Remote) error {
			x.Failures++
			x.LastError = err.Error()
			x.NextPoll = r.now().Add(r.backoff(x.Failures))
			return nil
		})
		return errors.Join(fmt.Errorf("listing the refs of %s: %w", rem.URL, err), uerr)
	}
	first := rem.Refs == nil
	fr := forgeRepo(repo, strings.TrimPrefix(head, "refs/heads/"))
	evs := changes(fr, rem.Refs, refs, first, head)
	if len(evs) > 0 {
		refusal, err := r.quotaRefusal(ctx, rem)
		if err != nil {
			return fmt.Errorf("counting the build minutes of %s: %w", rem.AddedBy, err)
		}
		if refusal != "" {
			// The refs are not recorded: each later poll finds the same changes and builds
			// them once there are minutes again.
			_, err := r.store.UpdateRemote(ctx, repoID, func(x *store.Remote) error {
				x.Polled, x.Failures, x.LastError = r.now(), 0, refusal
				x.NextPoll = r.now().Add(jitter(r.cfg.interval()))
				return nil
			})
			r.log.Info("builds wait for build minutes", "repo_id", repoID, "by", rem.AddedBy)
			return err
		}
	}
	for _, ev := range evs {
		if _, err := r.inbox.Put(ctx, ev); err != nil {
			// Nothing is recorded: the next poll finds the same change and tries again.
			return fmt.Errorf("handing the push of %s to the event stage: %w", ev.Ref, err)
		}
	}
	if refs == nil {
		refs = map[string]string{}
	}
	_, err = r.store.UpdateRemote(ctx, repoID, func(x *store.Remote) error {
		x.Refs, x.Polled, x.Failures, x.LastError = refs, r.now(), 0, ""
		x.NextPoll = r.now().Add(jitter(r.cfg.interval()))
		return nil
	})
	return err
}

// firstTags is how many of the tags already there a repository's first listing builds: a
// repository with years of releases does not queue hundreds of builds at once.
const firstTags = 10

// changes turns the difference of two listings into events, branches first, in name order.
func changes(repo forge.Repo, old, now map[string]string, first bool, head string) []*forge.Event {
	var out []*forge.Event
	names := make([]string, 0, len(now))
	for ref := range now {
		names = append(names, ref)
	}
	sort.Strings(names)
	var tags map[string]bool
	if first {
		tags = newestTags(names, firstTags)
	}
	for _, ref := range names {
		sha, before := now[ref], old[ref]
		if sha == before || first && ref != head && !tags[ref] {
			continue
		}
		kind := forge.KindPush
		if strings.HasPrefix(ref, "refs/tags/") {
			kind = forge.KindTag
		}
		out = append(out, pollEvent(repo, kind, ref, before, sha))
	}
	gone := make([]string, 0)
	for ref := range old {
		if _, ok := now[ref]; !ok {
			gone = append(gone, ref)
		}
	}
	sort.Strings(gone)
	for _, ref := range gone {
		kind := forge.KindBranchDeleted
		if strings.HasPrefix(ref, "refs/tags/") {
			kind = forge.KindTagDeleted
		}
		out = append(out, pollEvent(repo, kind, ref, old[ref], ""))
	}
	return out
}

// newestTags picks the n newest of the tag refs among refs: by version where the names are
// versions (v1.2.3, 1.2), which beat other names; those by name, the last first.
func newestTags(refs []string, n int) map[string]bool {
	type tag struct {
		ref string
		v   *semver.Version
	}
	var all []tag
	for _, ref := range refs {
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		v, err := semver.NewVersion(name)
		if err != nil {
			v = nil
		}
		all = append(all, tag{ref, v})
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		switch {
		case a.v != nil && b.v != nil && !a.v.Equal(b.v):
			return a.v.GreaterThan(b.v)
		case (a.v != nil) != (b.v != nil):
			return a.v != nil
		}
		return a.ref > b.ref
	})
	out := map[string]bool{}
	for _, t := range all[:min(n, len(all))] {
		out[t.ref] = true
	}
	return out
}

func pollEvent(repo forge.Repo, kind forge.Kind, ref, before, sha string) *forge.Event {
	if before == "" {
		before = forge.ZeroSHA
	}
	return &forge.Event{Forge: Name, Kind: kind, Repo: repo, Ref: ref, SHA: sha, Before: before,
		Actor:      forge.User{Login: "poll"},
		DeliveryID: fmt.Sprintf("poll:%d:%s:%s:%s", repo.ID, ref, before, sha)}
}

// listRefs is `git ls-remote` through the checked transport: the branches and tags (tags
// peeled to their commits) and the branch HEAD names.
func (r *Remotes) listRefs(ctx context.Context, rem store.Remote) (map[string]string, string, error) {
	raw, err := giturl.Rewrite(rem.URL)
	if err != nil {
		return nil, "", err
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, "", err
	}
	t := r.transports[ep.Protocol]
	if t == nil {
		return nil, "", fmt.Errorf("no checked transport for %s", ep.Protocol)
	}
	auth, err := r.deployAuth(rem)
	if err != nil {
		return nil, "", err
	}
	sess, err := t.NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, "", err
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, "", err
	}
	all, err := adv.AllReferences()
	if err != nil {
		return nil, "", err
	}
	refs := map[string]string{}
	var head string
	for name, ref := range all {
		switch {
		case name == plumbing.HEAD && ref.Type() == plumbing.SymbolicReference:
			head = string(ref.Target())
		case ref.Type() != plumbing.HashReference:
		case name.IsBranch():
			refs[string(name)] = ref.Hash().String()
		case name.IsTag():
			h := ref.Hash()
			if p, ok := adv.Peeled[string(name)]; ok {
				h = p
			}
			refs[string(name)] = h.String()
		}
	}
	if head == "" {
		for _, b := range []string{"refs/heads/main", "refs/heads/master"} {
			if _, ok := refs[b]; ok {
				head = b
				break
			}
		}
	}
	if len(refs) > maxRefs {
		return nil, "", fmt.Errorf("the repository has %d branches and tags, more than the %d a repository by URL may have", len(refs), maxRefs)
	}
	return refs, head, nil
}

// explainListError says what to do about the refusal users meet first: an ssh server that does
// not (yet) accept the deploy key.
func explainListError(err error) error {
	if strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("the ssh server refused the deploy key: add the repository's deploy key (its page shows it) to the repository, read-only (%w)", err)
	}
	return err
}

// maxRefs bounds the branches and tags of a repository by URL (each may become a build).
const maxRefs = 1000

// backoff is the wait after failures in a row: the interval doubled each time, capped.
func (r *Remotes) backoff(failures int) time.Duration {
	d := r.cfg.interval()
	for i := 1; i < failures && d < r.cfg.maxBackoff(); i++ {
		d *= 2
	}
	return jitter(min(d, r.cfg.maxBackoff()))
}

// jitter spreads d by ±10%, so repositories registered together are not polled in lockstep.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}
