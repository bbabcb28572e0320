package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// listingData is a feed folder as a browser sees it.
type listingData struct {
	Repo     store.Repository
	Ref      store.Ref
	Series   string
	Arch     string
	Crumbs   []crumb
	Folders  []crumb   // sub-folders (series, arches) of a ref or series folder
	Packages []Package // the packages of an arch folder
	Files    []crumb   // the index files of an arch folder
	FeedLine string    // the command that adds the feed on a router
	Format   string    // FormatOPKG or FormatAPK
	Folder   string    // the arch folder's path, with its slash: package links are absolute
	RepoPath string
}

type crumb struct{ Name, Path string }

// wantsListing: a browser (Accept: text/html) asking for a folder gets a readable page; routers
// (opkg's uclient-fetch sends no Accept) and scripts get the feed server's plain files.
func wantsListing(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) &&
		strings.Contains(r.Header.Get("Accept"), "text/html")
}

// feedPath takes every path below a repository that the /-/ pages do not: feed folders for
// browsers become listings, everything else goes to the feed file server.
func (h *Handler) feedPath(w http.ResponseWriter, r *http.Request) {
	segs := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(segs) == 3 && segs[2] == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		// /<owner>/<repo>/ is the repository page, typed with a slash.
		http.Redirect(w, r, "/"+segs[0]+"/"+segs[1], http.StatusMovedPermanently)
		return
	}
	loc, ok := parseFeedLocation(segs[2:])
	listable := ok && loc.File == "" && wantsListing(r) && !(loc.Ref.Kind == store.RefTag && loc.Ref.Name == "" && loc.Series == "")
	if !listable {
		if h.opt.FeedFiles == nil || !ok && segs[2] != "-" {
			h.notFound(w, r)
			return
		}
		h.opt.FeedFiles.ServeHTTP(w, r)
		return
	}
	a, found := h.pageRepo(w, r)
	if !found {
		return
	}
	h.listing(w, r, a.Repo, loc)
}

// listing renders one feed folder: a ref's series, a series' arches, or an arch's packages.
func (h *Handler) listing(w http.ResponseWriter, r *http.Request, repo store.Repository, loc feedLocation) {
	d := listingData{Repo: repo, Ref: loc.Ref, Series: loc.Series, Arch: loc.Arch, RepoPath: RepoPath(repo)}
	refName := refLabel(loc.Ref)
	if loc.Ref.Kind == store.RefTag && loc.Ref.Name == "" {
		refName = "latest tag"
	}
	d.Crumbs = []crumb{{repo.Path(), RepoPath(repo)}, {refName, FeedPath(repo, loc.Ref, "", "")}}
	nothing := func() {
		h.errorPage(w, r, http.StatusNotFound, "Feed not found",
			"Nothing is published at "+r.URL.Path+".",
			"Pick a feed on the repository page; a branch gets feeds once a build of it succeeded.")
	}
	if loc.Arch == "" {
		feeds, err := h.opt.Feeds.Feeds(r.Context(), repo)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		for _, f := range feeds {
			if f.Ref != loc.Ref || loc.Series != "" && f.Series != loc.Series {
				continue
			}
			c := crumb{f.Series + "/", FeedPath(repo, loc.Ref, f.Series, "")}
			if loc.Series != "" {
				c = crumb{f.Arch + "/", FeedPath(repo, loc.Ref, f.Series, f.Arch)}
			}
			if !slices.Contains(d.Folders, c) {
				d.Folders = append(d.Folders, c)
			}
		}
		if len(d.Folders) == 0 {
			nothing()
			return
		}
		slices.SortFunc(d.Folders, func(x, y crumb) int { return strings.Compare(x.Name, y.Name) })
		if loc.Series != "" {
			d.Crumbs = append(d.Crumbs, crumb{loc.Series, FeedPath(repo, loc.Ref, loc.Series, "")})
		}
		h.render(w, r, http.StatusOK, "listing", "Feed "+repo.Path()+" "+refName, d)
		return
	}
	pkgs, err := h.opt.Feeds.Packages(r.Context(), repo, loc.Ref, loc.Series, loc.Arch)
	if errors.Is(err, store.ErrNotFound) {
		nothing()
		return
	}
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	folder := FeedPath(repo, loc.Ref, loc.Series, loc.Arch)
	d.Crumbs = append(d.Crumbs, crumb{loc.Series, FeedPath(repo, loc.Ref, loc.Series, "")}, crumb{loc.Arch, folder})
	d.Packages, d.Folder = pkgs, folder
	d.Format = h.listingFormat(r, repo, loc, pkgs)
	files := []string{"Packages", "Packages.gz", "Packages.sig", "Packages.manifest", "index.json"}
	if d.Format == FormatAPK {
		files = []string{"packages.adb", "index.json"}
	}
	for _, f := range files {
		d.Files = append(d.Files, crumb{f, folder + f})
	}
	d.FeedLine = Lines(d.Format, repo, "", h.opt.PublicURL+strings.TrimSuffix(folder, "/"), "", false).Feed
	h.render(w, r, http.StatusOK, "listing", "Feed "+repo.Path()+" "+refName+" "+loc.Series+"/"+loc.Arch, d)
}

// listingFormat is the format of the feed shown: by its package files, else (an empty feed) by
// the lister's record of it.
func (h *Handler) listingFormat(r *http.Request, repo store.Repository, loc feedLocation, pkgs []Package) string {
	if f, ok := FormatOfFiles(pkgs); ok {
		return f
	}
	all, err := h.opt.Feeds.Feeds(r.Context(), repo)
	if err != nil {
		return FormatOPKG
	}
	for _, f := range all {
		if f.Ref == loc.Ref && f.Series == loc.Series && f.Arch == loc.Arch && f.Format != "" {
			return f.Format
		}
	}
	return FormatOPKG
}
