package web

import (
	"cmp"
	"net/http"
	"slices"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// refView is one branch, tag or pull request on the repository page.
type refView struct {
	Ref     store.Ref
	Latest  store.Build // ID 0: never built
	Feeds   []Feed
	Default bool
}

// install is the box with a router's two lines for the chosen ref, series and arch.
type install struct {
	Ref                  store.Ref
	Series, Arch         string
	Refs                 []store.Ref
	SeriesList, ArchList []string
	Fingerprint          string // "" when the repository has no key yet (apk: the key id)
	Format               string // FormatOPKG or FormatAPK
	Lines                RouterLines
	KeyLine, FeedLine    string
	FeedURL              string
}

type repoData struct {
	Repo                   store.Repository
	Branches, Tags, Pulls  []refView
	Install                *install
	Recent                 []store.Build
	BadgeURL, BadgeMD      string
	APIPath, BuildsPath    string
	CanRebuild, NeedSignIn bool
	// Remote is what whoever added a repository by URL (or an admin) sees of it: the URL, the
	// push webhook and its secret, the deploy key, the last listing's error. nil for others.
	Remote *AddedRepo
}

// repoPage is /<owner>/<repo>: refs with their feeds and latest builds, install instructions.
func (h *Handler) repoPage(w http.ResponseWriter, r *http.Request) {
	a, ok := h.pageRepo(w, r)
	if !ok {
		return
	}
	d, err := h.repoData(r, a)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if d.Remote != nil {
		noStore(w)
	}
	h.render(w, r, http.StatusOK, "repo", a.Repo.Path(), d)
}

func (h *Handler) repoData(r *http.Request, a access) (*repoData, error) {
	ctx := r.Context()
	repo := a.Repo
	latest, err := h.opt.History.LatestBuilds(ctx, repo.ID)
	if err != nil {
		return nil, err
	}
	feeds, err := h.opt.Feeds.Feeds(ctx, repo)
	if err != nil {
		return nil, err
	}
	recent, err := h.opt.History.ListBuilds(ctx, store.BuildQuery{RepoID: repo.ID, Limit: 10})
	if err != nil {
		return nil, err
	}
	views := map[store.Ref]*refView{}
	var order []store.Ref
	add := func(ref store.Ref) *refView {
		v, ok := views[ref]
		if !ok {
			v = &refView{Ref: ref, Default: ref.Kind == store.RefBranch && ref.Name == repo.DefaultBranch}
			views[ref] = v
			order = append(order, ref)
		}
		return v
	}
	for _, b := range latest { // newest first: the order refs are listed in
		add(b.Ref).Latest = b
	}
	for _, f := range feeds {
		v := add(f.Ref)
		v.Feeds = append(v.Feeds, f)
	}
	d := &repoData{Repo: repo, Recent: recent, APIPath: apiRepoPath(repo), BuildsPath: RepoPath(repo) + "/-/builds"}
	badge := h.opt.PublicURL + RepoPath(repo) + "/-/badge.svg"
	// The page shows the badge from this site (the CSP allows only 'self'); READMEs get the
	// public URL.
	d.BadgeURL = RepoPath(repo) + "/-/badge.svg"
	d.BadgeMD = "[![openwrt-ppa](" + badge + ")](" + h.opt.PublicURL + RepoPath(repo) + ")"
	for _, ref := range order {
		v := views[ref]
		slices.SortFunc(v.Feeds, func(x, y Feed) int { return cmp.Or(cmp.Compare(x.Series, y.Series), cmp.Compare(x.Arch, y.Arch)) })
		switch ref.Kind {
		case store.RefBranch:
			d.Branches = append(d.Branches, *v)
		case store.RefTag:
			d.Tags = append(d.Tags, *v)
		case store.RefPR:
			// Closed pull requests lose their feeds; show those with feeds or a build under way.
			if len(v.Feeds) > 0 || v.Latest.Status.Pending() {
				d.Pulls = append(d.Pulls, *v)
			}
		}
	}
	// The default branch first: it is what most visitors came for.
	slices.SortStableFunc(d.Branches, func(x, y refView) int {
		switch {
		case x.Default == y.Default:
			return 0
		case x.Default:
			return -1
		}
		return 1
	})
	if d.Install, err = h.install(r, repo, d); err != nil {
		return nil, err
	}
	if a.User != nil {
		d.CanRebuild, err = h.may(r, repo, a.User, askWrite)
		if err != nil {
			h.log.WarnContext(ctx, "asking the forge for write access", "repo", repo.Path(), "err", err)
		}
	}
	if a.User != nil && repo.Forge == store.ForgeGit && h.opt.Registrar != nil {
		rem, ok, err := h.opt.Registrar.RepoRemote(ctx, *a.User, repo)
		if err != nil {
			return nil, err
		}
		if ok {
			d.Remote = &rem
		}
	}
	d.NeedSignIn = a.User == nil && len(h.oauth) > 0
	return d, nil
}

// install picks the ref, series and arch from the query (ref=branch:main&series=24.10&arch=x86_64),
// falling back to the default branch and the first published feed, and writes the two lines.
func (h *Handler) install(r *http.Request, repo store.Repository, d *repoData) (*install, error) {
	var withFeeds []refView
	for _, group := range [][]refView{d.Branches, d.Tags, d.Pulls} {
		for _, v := range group {
			if len(v.Feeds) > 0 {
				withFeeds = append(withFeeds, v)
			}
		}
	}
	if len(withFeeds) == 0 {
		return nil, nil
	}
	q := r.URL.Query()
	in := &install{}
	chosen := withFeeds[0]
	for _, v := range withFeeds {
		in.Refs = append(in.Refs, v.Ref)
		if v.Ref.String() == q.Get("ref") {
			chosen = v
		}
	}
	in.Ref = chosen.Ref
	var feed Feed
	for _, f := range chosen.Feeds {
		if !slices.Contains(in.SeriesList, f.Series) {
			in.SeriesList = append(in.SeriesList, f.Series)
		}
	}
	// The newest series first: it is what a new router runs.
	slices.Sort(in.SeriesList)
	slices.Reverse(in.SeriesList)
	in.Series = in.SeriesList[0]
	if slices.Contains(in.SeriesList, q.Get("series")) {
		in.Series = q.Get("series")
	}
	for _, f := range chosen.Feeds {
		if f.Series == in.Series {
			in.ArchList = append(in.ArchList, f.Arch)
			if feed.Arch == "" || f.Arch == q.Get("arch") {
				feed = f
			}
		}
	}
	in.Arch = feed.Arch
	in.Format = cmp.Or(feed.Format, FormatOPKG)
	preview := in.Ref.Kind == store.RefPR
	kind := store.KeyMain
	if preview {
		kind = store.KeyPreview
	}
	if in.Format == FormatAPK {
		kind = kind.APK()
	}
	fp, err := h.opt.Feeds.KeyFingerprint(r.Context(), repo, kind)
	if err != nil {
		return nil, err
	}
	in.Fingerprint = fp
	public := h.opt.PublicURL
	if repo.Private && h.opt.ReadToken != nil {
		// Only people who may read the repository see this page; the token lets their routers in.
		public = withCredentials(public, "token", h.opt.ReadToken(repo))
	}
	in.FeedURL = public + strings.TrimSuffix(FeedPath(repo, in.Ref, in.Series, in.Arch), "/")
	in.Lines = Lines(in.Format, repo, public+RepoPath(repo), in.FeedURL, fp, preview)
	in.KeyLine, in.FeedLine = in.Lines.Key, in.Lines.Feed
	return in, nil
}

// FeedName is the name of a repository's feed in customfeeds.conf: <owner>_<repo>, with any
// character opkg or a shell would stumble on replaced by "_".
func FeedName(repo store.Repository) string {
	return strings.Map(func(c rune) rune {
		if c < 0x80 && (isAlnum(byte(c)) || c == '.' || c == '-' || c == '_') {
			return c
		}
		return '_'
	}, repo.Owner+"_"+repo.Name)
}

// withCredentials puts user:password into a URL's authority.
func withCredentials(base, user, password string) string {
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok {
		return base
	}
	return scheme + "://" + user + ":" + password + "@" + rest
}
