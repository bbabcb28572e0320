package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Errors a Registrar wraps, so the API answers with the right status.
var (
	ErrRegisterRefused   = errors.New("refused")     // a URL or name that cannot be taken: 400
	ErrRegisterForbidden = errors.New("not allowed") // the feature is off, admins only, quota: 403
	ErrRegisterConflict  = errors.New("name taken")  // another repository holds the name: 409
)

// Registrar registers repositories by their git URL (app/remote). Errors wrap one of the
// ErrRegister* errors when the caller's request is at fault, with a message for people.
type Registrar interface {
	AddRepo(ctx context.Context, user User, url, name string) (AddedRepo, error)
	// RemoveRepo stops polling and building the repository; its feeds stay. Only its adder
	// or an admin may (ErrRegisterForbidden otherwise).
	RemoveRepo(ctx context.Context, user User, repo store.Repository) error
	// RepoRemote is what the repository page shows about a repository by URL to whoever added
	// it, or an admin; ok is false for anyone else and for repositories of a forge.
	RepoRemote(ctx context.Context, user User, repo store.Repository) (added AddedRepo, ok bool, err error)
}

// AddedRepo is what the API tells whoever registered a repository.
type AddedRepo struct {
	Repo          store.Repository
	URL           string
	WebhookURL    string
	WebhookSecret string
	DeployKey     string // the public half, for ssh URLs
	LastError     string // why the last listing of its refs failed; "" when it worked
}

// apiAddRepo is POST /repos {"url": …, "name": …}: register a repository by URL.
func (h *Handler) apiAddRepo(w http.ResponseWriter, r *http.Request, a access) {
	if h.opt.Registrar == nil {
		apiError(w, http.StatusNotFound, "not_found", "this service does not register repositories by URL")
		return
	}
	if a.User == nil {
		apiError(w, http.StatusUnauthorized, "unauthorized", "sign in (or send the admin token) to add a repository")
		return
	}
	var body struct {
		URL  string `json:"url"`
		Name string `json:"name"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", `the body must be JSON like {"url": "https://codeberg.org/you/pkgs.git", "name": "you/pkgs"} (name optional): `+err.Error())
		return
	}
	added, err := h.opt.Registrar.AddRepo(r.Context(), *a.User, body.URL, body.Name)
	if h.registerError(w, r, err) {
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		apiRepoJSON
		URL           string `json:"url"`
		WebhookURL    string `json:"webhook_url"`
		WebhookSecret string `json:"webhook_secret"`
		DeployKey     string `json:"deploy_key,omitempty"`
	}{h.repoJSON(added.Repo), added.URL, added.WebhookURL, added.WebhookSecret, added.DeployKey})
}

// apiRemoveRepo is DELETE /repos/{owner}/{repo}: a repository by URL is no longer polled or
// built; its feeds stay.
func (h *Handler) apiRemoveRepo(w http.ResponseWriter, r *http.Request, a access) {
	if h.opt.Registrar == nil {
		apiError(w, http.StatusNotFound, "not_found", "this service does not register repositories by URL")
		return
	}
	if a.User == nil {
		apiError(w, http.StatusUnauthorized, "unauthorized", "sign in (or send the admin token) to remove a repository")
		return
	}
	if h.registerError(w, r, h.opt.Registrar.RemoveRepo(r.Context(), *a.User, a.Repo)) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// registerError answers a Registrar's error; false when there was none.
func (h *Handler) registerError(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrRegisterRefused):
		apiError(w, http.StatusBadRequest, "refused", err.Error())
	case errors.Is(err, ErrRegisterForbidden):
		apiError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, ErrRegisterConflict):
		apiError(w, http.StatusConflict, "name_taken", err.Error())
	default:
		h.apiInternal(w, r, err)
	}
	return true
}
