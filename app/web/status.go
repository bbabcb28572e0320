package web

import (
	"net/http"
	"time"
)

// CatalogueState is the SDK catalogue's refresh state as the status route shows it; app fills
// it from the builder's CatalogueSource, so that web needs no builder type for it.
type CatalogueState struct {
	// Source is where the releases come from: "registry <repo>", "embedded table (…)" when the
	// refresh is off, or "fixed image <image> (--image)".
	Source   string
	InUse    string    // "embedded table" or "last answer of <time>"
	Releases string    // per series: "24.10=24.10.6 25.12=25.12.0"
	LastOK   time.Time // the registry's last answer; zero: none yet
	Err      string    // why the last refresh failed and what to do; "" when it did not
}

// catalogueJSON is CatalogueState in the API.
type catalogueJSON struct {
	Source   string `json:"source"`
	InUse    string `json:"in_use"`
	Releases string `json:"releases"`
	LastOK   string `json:"last_ok,omitempty"`
	Error    string `json:"error,omitempty"`
}

// apiStatus is GET /admin/status: what the service plans with, for operators; /readyz stays a
// short public reason, so the detail (registry names, errors) needs the admin token here.
func (h *Handler) apiStatus(w http.ResponseWriter, r *http.Request, a access) {
	if a.User == nil || !a.User.Admin() {
		w.Header().Set("WWW-Authenticate", `Bearer realm="openwrt-ppa"`)
		apiError(w, http.StatusUnauthorized, "unauthorized", "the service's status is shown with the admin token (Authorization: Bearer …)")
		return
	}
	if h.opt.Catalogue == nil {
		apiError(w, http.StatusNotFound, "not_found", "this process plans no builds (run serve for the SDK catalogue's state)")
		return
	}
	c := h.opt.Catalogue()
	out := catalogueJSON{Source: c.Source, InUse: c.InUse, Releases: c.Releases, Error: c.Err}
	if !c.LastOK.IsZero() {
		out.LastOK = c.LastOK.UTC().Format(time.RFC3339)
	}
	writeJSON(w, http.StatusOK, struct {
		Catalogue catalogueJSON `json:"catalogue"`
	}{out})
}
