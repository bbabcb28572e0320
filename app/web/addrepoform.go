package web

import (
	"errors"
	"net/http"
	"strings"
)

// addRepoPath is the "Add a repository" page: a form for signed-in users that registers a
// repository by URL through the Registrar, as POST /api/v1/repos does.
const addRepoPath = "/-/add"

// addRepoData is what the form page shows: what was typed, and why it was refused.
type addRepoData struct {
	URL, Name string
	Error     string
}

// addRepo serves GET and POST /-/add.
func (h *Handler) addRepo(w http.ResponseWriter, r *http.Request) {
	if h.opt.Registrar == nil {
		h.notFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		h.methodNotAllowed(w, r, "GET, POST")
		return
	}
	s, signedIn := h.currentSession(r)
	if !signedIn {
		h.errorPage(w, r, http.StatusUnauthorized, "Sign in to add a repository",
			"Only signed-in users add repositories by URL.", "Sign in, then open “Add a repository” again.")
		return
	}
	if r.Method != http.MethodPost {
		h.render(w, r, http.StatusOK, "addrepo", "Add a repository", addRepoData{})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if !h.checkCSRF(r, s) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired",
			"The form did not carry this session's token, so it may not have come from this site.",
			"Go back, reload the page and add the repository again.")
		return
	}
	d := addRepoData{URL: strings.TrimSpace(r.PostFormValue("url")), Name: strings.TrimSpace(r.PostFormValue("name"))}
	added, err := h.opt.Registrar.AddRepo(r.Context(), s.User, d.URL, d.Name)
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, ErrRegisterRefused):
			status = http.StatusBadRequest
		case errors.Is(err, ErrRegisterForbidden):
			status = http.StatusForbidden
		case errors.Is(err, ErrRegisterConflict):
			status = http.StatusConflict
		default:
			h.log.ErrorContext(r.Context(), "adding a repository by URL", "url", d.URL, "err", err)
			err = errors.New("the service could not register the repository; the error has been logged, try again in a minute")
		}
		d.Error = err.Error()
		h.render(w, r, status, "addrepo", "Add a repository", d)
		return
	}
	h.log.InfoContext(r.Context(), "repository added by URL through the web", "repo", added.Repo.Path(), "by", s.User.Forge+":"+s.User.Login)
	noStore(w)
	h.render(w, r, http.StatusCreated, "added", "Added "+added.Repo.Path(), added)
}
