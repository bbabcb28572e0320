package web

import (
	"net/http"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// homePage lists repositories with the latest build of each branch.
const homePage = 30

type homeRepo struct {
	Repo     store.Repository
	Branches []store.Build // the latest build of each branch, newest first
}

type homeData struct {
	Search     string
	Repos      []homeRepo
	NextURL    string
	FirstSteps []FirstStep // shown when the service has no repository at all
}

// home is /: the repositories, searchable and paged by path.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("q"))
	user := h.pageUser(r)
	// Private repositories are left out by the store, before the page is cut, so the next link
	// never names one. Showing them here would cost a forge question per row; they are reached
	// through their address by those who may see them.
	repos, err := h.opt.History.ListRepositories(r.Context(), store.RepositoryQuery{Search: search, After: q.Get("after"), Limit: homePage + 1,
		PublicOnly: user == nil || !user.Admin()})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	d := homeData{Search: search}
	if len(repos) == 0 && search == "" && q.Get("after") == "" {
		d.FirstSteps = h.opt.FirstSteps
	}
	if len(repos) > homePage {
		repos = repos[:homePage]
		nq := r.URL.Query()
		nq.Set("after", store.PathKey(repos[homePage-1].Owner, repos[homePage-1].Name))
		d.NextURL = "/?" + nq.Encode()
	}
	for _, repo := range repos {
		latest, err := h.opt.History.LatestBuilds(r.Context(), repo.ID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		hr := homeRepo{Repo: repo}
		for _, b := range latest {
			if b.Ref.Kind == store.RefBranch && len(hr.Branches) < 5 {
				hr.Branches = append(hr.Branches, b)
			}
		}
		d.Repos = append(d.Repos, hr)
	}
	h.render(w, r, http.StatusOK, "home", "OpenWrt PPA", d)
}
