package web

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"unicode/utf8"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// badgeText maps a build status to the badge's words and colour.
var badgeText = map[store.Status][2]string{
	store.StatusSuccess:   {"passing", "#2e7d32"},
	store.StatusFailure:   {"failing", "#c62828"},
	store.StatusTimedOut:  {"timed out", "#c62828"},
	store.StatusCancelled: {"cancelled", "#616161"},
	store.StatusSkipped:   {"skipped", "#616161"},
	store.StatusQueued:    {"queued", "#6d5f00"},
	store.StatusRunning:   {"building", "#1565c0"},
}

// badge is /<owner>/<repo>/-/badge.svg?branch=B: the latest build of the branch (default: the
// default branch). An unknown repository or branch gets an "unknown" badge with status 404, so a
// README shows something rather than a broken image.
func (h *Handler) badge(w http.ResponseWriter, r *http.Request) {
	repo, lerr := h.resolveRepo(r, h.pageUser(r))
	status, label := http.StatusOK, "unknown"
	colour := "#616161"
	if lerr != nil {
		status = lerr.Status
	} else {
		branch := r.URL.Query().Get("branch")
		if branch == "" {
			branch = repo.DefaultBranch
		}
		b, err := h.opt.History.LatestBuild(r.Context(), repo.ID, store.Ref{Kind: store.RefBranch, Name: branch})
		switch {
		case errors.Is(err, store.ErrNotFound):
			status = http.StatusNotFound
		case err != nil:
			h.log.ErrorContext(r.Context(), "badge", "repo", repo.Path(), "err", err)
			status = http.StatusInternalServerError
		default:
			if t, ok := badgeText[b.Status]; ok {
				label, colour = t[0], t[1]
			}
		}
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	// READMEs on forges are proxied through image caches: ask them not to keep the badge.
	w.Header().Set("Cache-Control", "no-cache, max-age=0")
	w.WriteHeader(status)
	_, _ = w.Write(badgeSVG("openwrt-ppa", label, colour))
}

// badgeSVG draws a flat two-part badge; the widths follow the text at ~6.5 px a character.
func badgeSVG(left, right, colour string) []byte {
	lw, rw := 10+utf8.RuneCountInString(left)*13/2, 10+utf8.RuneCountInString(right)*13/2
	l, rt := html.EscapeString(left), html.EscapeString(right)
	return fmt.Appendf(nil, `<svg xmlns="http://www.w3.org/2000/svg" width="%[1]d" height="20" role="img" aria-label="%[3]s: %[4]s">`+
		`<title>%[3]s: %[4]s</title>`+
		`<rect width="%[2]d" height="20" fill="#555"/><rect x="%[2]d" width="%[5]d" height="20" fill="%[6]s"/>`+
		`<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">`+
		`<text x="%[7]d" y="14">%[3]s</text><text x="%[8]d" y="14">%[4]s</text></g></svg>`,
		lw+rw, lw, l, rt, rw, colour, lw/2, lw+rw/2)
}
