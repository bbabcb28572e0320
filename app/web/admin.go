package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// gitLabSecretJSON is one registered GitLab webhook secret: its scope, never the secret.
type gitLabSecretJSON struct {
	ID        int64  `json:"id"`
	ScopeKind string `json:"scope_kind"`
	ScopeID   int64  `json:"scope_id"`
	Note      string `json:"note"`
	CreatedBy string `json:"created_by"`
	Created   string `json:"created"`
}

func secretJSON(s store.WebhookSecret) gitLabSecretJSON {
	return gitLabSecretJSON{ID: s.ID, ScopeKind: s.ScopeKind, ScopeID: s.ScopeID, Note: s.Note, CreatedBy: s.CreatedBy,
		Created: s.Created.UTC().Format(time.RFC3339)}
}

// adminOnly answers 401 unless the admin token called, and 404 when the service keeps no
// webhook secrets.
func (h *Handler) adminOnly(w http.ResponseWriter, a access) bool {
	if a.User == nil || !a.User.Admin() {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openwrt-ppa"`)
		apiError(w, http.StatusUnauthorized, "unauthorized", "GitLab webhook secrets are managed with the admin token (Authorization: Bearer …)")
		return false
	}
	if h.opt.WebhookSecrets == nil {
		apiError(w, http.StatusNotFound, "not_found", "this service keeps no webhook secrets")
		return false
	}
	return true
}

// apiAddGitLabSecret is POST /admin/gitlab-secrets {"scope_kind": "project", "scope_id": 42,
// "note": "…"}: a new random secret for the project or group, answered once; the store keeps
// its SHA-256 only.
func (h *Handler) apiAddGitLabSecret(w http.ResponseWriter, r *http.Request, a access) {
	if !h.adminOnly(w, a) {
		return
	}
	var body struct {
		ScopeKind string `json:"scope_kind"`
		ScopeID   int64  `json:"scope_id"`
		Note      string `json:"note"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		apiError(w, http.StatusBadRequest, "bad_request", `the body must be JSON like {"scope_kind": "project", "scope_id": 42, "note": "who it is for"}: `+err.Error())
		return
	}
	secret, reg := store.NewWebhookSecret("gitlab", body.ScopeKind, body.ScopeID, body.Note, a.User.Login)
	reg, err := h.opt.WebhookSecrets.AddWebhookSecret(r.Context(), reg)
	if errors.Is(err, store.ErrInvalid) {
		apiError(w, http.StatusBadRequest, "bad_request", err.Error()+` (scope_kind is "project" or "group", scope_id GitLab's id of it)`)
		return
	}
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, struct {
		gitLabSecretJSON
		Secret string `json:"secret"`
	}{secretJSON(reg), secret})
}

// apiGitLabSecrets is GET /admin/gitlab-secrets: every registration, without secrets.
func (h *Handler) apiGitLabSecrets(w http.ResponseWriter, r *http.Request, a access) {
	if !h.adminOnly(w, a) {
		return
	}
	regs, err := h.opt.WebhookSecrets.ListWebhookSecrets(r.Context(), "gitlab")
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	out := struct {
		Secrets []gitLabSecretJSON `json:"secrets"`
	}{Secrets: []gitLabSecretJSON{}}
	for _, s := range regs {
		out.Secrets = append(out.Secrets, secretJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

// apiRemoveGitLabSecret is DELETE /admin/gitlab-secrets/{id}: deliveries carrying that secret
// are refused from now on.
func (h *Handler) apiRemoveGitLabSecret(w http.ResponseWriter, r *http.Request, a access) {
	if !h.adminOnly(w, a) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = h.opt.WebhookSecrets.DeleteWebhookSecret(r.Context(), id)
	}
	if err != nil && (errors.Is(err, store.ErrNotFound) || id <= 0) {
		apiError(w, http.StatusNotFound, "not_found", "no GitLab webhook secret "+r.PathValue("id")+"; GET /api/v1/admin/gitlab-secrets lists them")
		return
	}
	if err != nil {
		h.apiInternal(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
