package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// rebuildForm is the Rebuild button: POST /<owner>/<repo>/-/builds/<id>/rebuild with the
// session's CSRF token. It rebuilds the build's ref at its newest commit and shows the new build.
func (h *Handler) rebuildForm(w http.ResponseWriter, r *http.Request) {
	s, signedIn := h.currentSession(r)
	if !signedIn {
		h.errorPage(w, r, http.StatusUnauthorized, "Sign in to rebuild",
			"Only signed-in users with write access to the repository may start builds.", "Sign in, then press Rebuild again.")
		return
	}
	if !h.checkCSRF(r, s) {
		h.errorPage(w, r, http.StatusForbidden, "Form expired",
			"The Rebuild form did not carry this session's token, so it may not have come from this site.",
			"Go back, reload the build page and press Rebuild again.")
		return
	}
	a, ok := h.pageRepo(w, r)
	if !ok {
		return
	}
	b, lerr := h.findBuild(r, a.Repo)
	if lerr != nil {
		h.errorPage(w, r, lerr.Status, "Build not found", lerr.What, lerr.ToDo)
		return
	}
	id, rerr := h.rebuild(r, a.Repo, a.User, b.Ref)
	if rerr != nil {
		if rerr.Err != nil {
			h.log.ErrorContext(r.Context(), "rebuild", "repo", a.Repo.Path(), "ref", b.Ref.String(), "err", rerr.Err)
		}
		h.errorPage(w, r, rerr.Status, "Rebuild refused", rerr.What, rerr.ToDo)
		return
	}
	http.Redirect(w, r, BuildPath(a.Repo, id), http.StatusSeeOther)
}

// rebuild checks write access and asks the Rebuilder, for the button and the API alike.
func (h *Handler) rebuild(r *http.Request, repo store.Repository, user *User, ref store.Ref) (int64, *lookupError) {
	if h.opt.Rebuilder == nil {
		return 0, &lookupError{Status: http.StatusServiceUnavailable, Code: "unavailable",
			What: "This service does not take rebuilds.", ToDo: "Push a commit to build instead."}
	}
	ok, err := h.may(r, repo, user, askWriteFresh)
	if err != nil {
		return 0, &lookupError{Status: http.StatusBadGateway, Code: "forge_unavailable",
			What: "The forge could not be asked whether you may build " + repo.Path() + ".", ToDo: "Try again in a minute.", Err: err}
	}
	if !ok {
		return 0, &lookupError{Status: http.StatusForbidden, Code: "forbidden",
			What: "You do not have write access to " + repo.Path() + ", which starting builds needs.",
			ToDo: "Ask a maintainer of the repository to rebuild, or for write access."}
	}
	if repo.Disabled {
		return 0, &lookupError{Status: http.StatusConflict, Code: "disabled",
			What: repo.Path() + " is disabled: the app was uninstalled or the repository removed.",
			ToDo: "Install the app on the repository again."}
	}
	if err := ref.Check(); err != nil {
		return 0, &lookupError{Status: http.StatusBadRequest, Code: "bad_request", What: err.Error(), ToDo: "Name a branch, tag or pull request."}
	}
	id, err := h.opt.Rebuilder.Rebuild(r.Context(), repo.ID, ref, user.Actor())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, &lookupError{Status: http.StatusNotFound, Code: "not_found",
			What: refLabel(ref) + " no longer exists at the forge: " + err.Error(), ToDo: "Rebuild a branch, tag or pull request that still exists."}
	case errors.Is(err, store.ErrInvalid):
		// The refusal says what to do itself (ask the operator for more build minutes, reinstall
		// the app, rename the branch), so advice of ours could only contradict it.
		return 0, &lookupError{Status: http.StatusConflict, Code: "not_buildable",
			What: refLabel(ref) + " cannot be built: " + err.Error()}
	case err != nil:
		return 0, &lookupError{Status: http.StatusInternalServerError, Code: "internal",
			What: "The rebuild could not be started; the error has been logged.", ToDo: "Try again in a minute.", Err: err}
	}
	h.log.InfoContext(r.Context(), "rebuild started", "repo", repo.Path(), "ref", ref.String(), "actor", user.Actor(), "build", strconv.FormatInt(id, 10))
	return id, nil
}
