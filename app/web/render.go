package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

// page is what every page template gets: the layout's needs and the page's own Data.
type page struct {
	Title     string
	User      *User
	CSRF      string
	Path      string // the request's path, for the sign-in link's return
	CanSignIn bool
	// CanAddRepo shows the "Add a repository" link: signed in, on a service that registers
	// repositories by URL.
	CanAddRepo bool
	Now        time.Time
	Data       any
}

func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"repoPath":  RepoPath,
		"buildPath": BuildPath,
		"feedPath":  FeedPath,
		"escapeRef": EscapeRef,
		"refLabel":  refLabel,
		"ago":       ago,
		"when":      when,
		"duration":  duration,
		"size":      humanSize,
		"statusIcon": func(s store.Status) string {
			return statusIcons[s]
		},
		"forgeName": func(f string) string {
			switch f {
			case "github":
				return "GitHub"
			case "gitlab":
				return "GitLab"
			}
			return f
		},
		"dict": func(repo store.Repository, items any) map[string]any {
			return map[string]any{"Repo": repo, "Items": items}
		},
		"short": func(sha string) string {
			if len(sha) > 10 {
				return sha[:10]
			}
			return sha
		},
	}
}

var statusIcons = map[store.Status]string{
	store.StatusQueued: "◷", store.StatusRunning: "●", store.StatusSuccess: "✓", store.StatusFailure: "✗",
	store.StatusCancelled: "⊘", store.StatusTimedOut: "⌛", store.StatusSkipped: "–",
}

// parseTemplates builds the page set from the embedded templates: layout.html holds the frame,
// every other file one page.
func parseTemplates() (*template.Template, error) {
	root := template.New("root").Funcs(templateFuncs())
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// One set: layout.html defines "head" and "foot", and each page file one template named
	// for the page that wraps its body in them.
	if _, err := root.ParseFS(templateFS, files...); err != nil {
		return nil, fmt.Errorf("web: parsing templates: %w", err)
	}
	return root, nil
}

// render writes a whole page, or an error page if the template fails (nothing half-written).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	s, ok := h.currentSession(r)
	p := page{Title: title, CSRF: h.csrfToken(s, ok), Path: r.URL.RequestURI(), CanSignIn: len(h.oauth) > 0, Now: h.now(), Data: data}
	if ok {
		p.User = &s.User
		p.CanAddRepo = h.opt.Registrar != nil
	}
	t := h.pages.Lookup(name)
	if t == nil {
		h.log.ErrorContext(r.Context(), "no such page template", "page", name)
		http.Error(w, "internal error: missing page template", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		h.log.ErrorContext(r.Context(), "rendering page", "page", name, "err", err)
		http.Error(w, "internal error while rendering this page; it has been logged", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if hd.Get("Cache-Control") == "" { // a page showing secrets has said no-store already
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self' "+h.formTargets())
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// noStore keeps a page that shows a secret (a webhook secret, a deploy key) out of every cache,
// shared proxies' included: no-cache alone lets them store it.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "private, no-store") }

// formTargets lets the sign-in redirect reach the forges' authorisation pages.
func (h *Handler) formTargets() string {
	var b strings.Builder
	for _, p := range h.oauth {
		if i := strings.Index(p.Config.Endpoint.AuthURL, "://"); i > 0 {
			host, _, _ := strings.Cut(p.Config.Endpoint.AuthURL[i+3:], "/")
			b.WriteString(" " + p.Config.Endpoint.AuthURL[:i+3] + host)
		}
	}
	return b.String()
}

// errorData is what the error page shows: what happened and what to do.
type errorData struct {
	Status int
	What   string
	ToDo   string
}

// errorPage answers with a page that says what happened and what to do.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, title, what, todo string) {
	h.render(w, r, status, "error", title, errorData{Status: status, What: what, ToDo: todo})
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no page at "+r.URL.Path+".",
		"Check the address, or start again from the list of repositories.")
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	h.errorPage(w, r, http.StatusMethodNotAllowed, "Method not allowed",
		r.Method+" is not allowed on "+r.URL.Path+".", "Use the links and buttons on the pages.")
}

// serverError logs err and shows a page without its details.
func (h *Handler) serverError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "serving page", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong",
		"The service could not answer this request; the error has been logged.", "Try again in a minute.")
}

func refLabel(ref store.Ref) string {
	switch ref.Kind {
	case store.RefTag:
		return "tag " + ref.Name
	case store.RefPR:
		return "#" + ref.Name
	}
	return ref.Name
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// duration is a job's or build's run time: finished-started, or "" when it has not run.
func duration(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	d := end.Sub(start).Round(time.Second)
	if d < time.Minute {
		return d.String()
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

func humanSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1024*1024:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1024*1024))
}

// staticFS holds the stylesheet, the script and the icon.
//
//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if path.Ext(r.URL.Path) == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
