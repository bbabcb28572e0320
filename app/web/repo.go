package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// repoRoutes are the routes below /<owner>/<repo>. Feed folders and files take whatever the
// /-/ routes do not.
func (h *Handler) repoRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{owner}/{repo}", h.repoPage)
	m.HandleFunc("GET /{owner}/{repo}/-/builds", h.buildsPage)
	m.HandleFunc("GET /{owner}/{repo}/-/builds/{id}", h.buildPage)
	m.HandleFunc("POST /{owner}/{repo}/-/builds/{id}/rebuild", h.rebuildForm)
	m.HandleFunc("GET /{owner}/{repo}/-/badge.svg", h.badge)
	m.HandleFunc("/{owner}/{repo}/{rest...}", h.feedPath)
	m.HandleFunc("/", h.notFound)
	return m
}

// access is what resolving a repository found out about the request.
type access struct {
	Repo store.Repository
	User *User // nil when nobody is signed in (or for a bad token on the API)
}

// lookupError says why a repository cannot be shown, for a page or the API to render.
type lookupError struct {
	Status int
	Code   string
	What   string
	ToDo   string
	Err    error // the cause, logged for 5xx
}

func (e *lookupError) Error() string { return e.What }

// resolveRepo finds the repository the path names (case-insensitively; a GitLab owner's "~" is
// its "/") and checks that the requester may see it. Private repositories are "not found" to
// those who may not: their existence is not revealed.
func (h *Handler) resolveRepo(r *http.Request, user *User) (store.Repository, *lookupError) {
	ownerSeg, nameSeg := r.PathValue("owner"), r.PathValue("repo")
	owner := strings.ReplaceAll(ownerSeg, "~", "/")
	notFound := &lookupError{Status: http.StatusNotFound, Code: "not_found",
		What: "There is no repository " + owner + "/" + nameSeg + " on this service.",
		ToDo: "Check the spelling, or install the app on the repository so that it builds here."}
	if owner == "" || nameSeg == "" || strings.Contains(nameSeg, "/") {
		return store.Repository{}, notFound
	}
	repo, err := h.opt.History.RepositoryByPath(r.Context(), owner, nameSeg)
	if errors.Is(err, store.ErrNotFound) {
		return repo, notFound
	}
	if err != nil {
		return repo, &lookupError{Status: http.StatusInternalServerError, Code: "internal",
			What: "The service could not read its history.", ToDo: "Try again in a minute.", Err: err}
	}
	if repo.Private {
		ok, err := h.may(r, repo, user, askRead)
		if err != nil {
			return repo, &lookupError{Status: http.StatusBadGateway, Code: "forge_unavailable",
				What: "The forge could not be asked whether you may see this repository.", ToDo: "Try again in a minute.", Err: err}
		}
		if !ok {
			return repo, notFound
		}
	}
	return repo, nil
}

// The questions may asks.
const (
	askRead = iota
	askWrite
	askWriteFresh // for the rebuild itself: not from the cache, so a revoked permission counts at once
)

// may asks the Authorizer about user and repo; the admin may do anything, a user of another
// forge nothing. A repository by URL belongs to no forge: whoever added it signed in with one,
// so the Authorizer is asked whatever the user's forge.
func (h *Handler) may(r *http.Request, repo store.Repository, user *User, question int) (bool, error) {
	switch {
	case user == nil:
		return false, nil
	case user.Admin():
		return true, nil
	case user.Forge != repo.Forge && repo.Forge != store.ForgeGit || h.auth == nil:
		return false, nil
	}
	switch question {
	case askRead:
		return h.auth.CanRead(r.Context(), repo, *user)
	case askWrite:
		return h.auth.CanWrite(r.Context(), repo, *user)
	}
	return h.opt.Authorizer.CanWrite(r.Context(), repo, *user)
}

// pageUser is the signed-in user of a page request, or nil.
func (h *Handler) pageUser(r *http.Request) *User {
	if s, ok := h.currentSession(r); ok {
		return &s.User
	}
	return nil
}

// pageRepo resolves the repository of a page request, or writes the error page and returns
// ok=false.
func (h *Handler) pageRepo(w http.ResponseWriter, r *http.Request) (access, bool) {
	u := h.pageUser(r)
	repo, lerr := h.resolveRepo(r, u)
	if lerr != nil {
		if lerr.Err != nil {
			h.log.ErrorContext(r.Context(), "resolving repository", "path", r.URL.Path, "err", lerr.Err)
		}
		title := "Repository not found"
		if lerr.Status != http.StatusNotFound {
			title = "Repository unavailable"
		}
		h.errorPage(w, r, lerr.Status, title, lerr.What, lerr.ToDo)
		return access{}, false
	}
	return access{Repo: repo, User: u}, true
}
