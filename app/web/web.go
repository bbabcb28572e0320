package web

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Options is what New needs. History, Feeds and PublicURL are required; the rest degrade: no
// Rebuilder or Authorizer means nobody may rebuild, no OAuth providers means nobody can sign in
// (the admin token still works for the API), no FeedFiles means feed paths answer 404.
type Options struct {
	History    History
	Logs       store.LogStream // live log lines of running jobs; nil: only log files
	LogDir     string          // DIR/logs: Job.LogPath is relative to it
	Feeds      FeedLister
	FeedFiles  http.Handler // serves DIR/feeds at the URL root; gets every path web does not own
	Rebuilder  Rebuilder
	Authorizer Authorizer
	// WebhookSecrets keeps the GitLab webhook secrets the admin API registers; nil: none.
	WebhookSecrets store.WebhookSecretStore
	// Registrar registers repositories by URL; nil: the API refuses to.
	Registrar Registrar

	// PublicURL is the base of the links routers and READMEs get (https://ppa.example.org).
	PublicURL string
	// SessionSecret signs session cookies, OAuth states and CSRF tokens; at least 32 bytes.
	// Every replica behind a load balancer needs the same one.
	SessionSecret []byte
	// AdminToken, sent as "Authorization: Bearer <token>", may do anything through the API.
	AdminToken string
	// OAuth lists the sign-in providers (GitHubOAuth, GitLabOAuth).
	OAuth []OAuthProvider
	// ReadToken returns a private repository's read token, which routers put in the feed URL
	// (https://token:TOKEN@host/...); nil: private feeds get no credentials in their lines.
	ReadToken func(repo store.Repository) string
	// LogStreamName names a job's stream in Logs; nil means JobStreamName.
	LogStreamName func(jobID int64) string
	// FirstSteps are the ways to a first repository that the home page of an empty service
	// shows (see FirstStep).
	FirstSteps []FirstStep
	// Catalogue reports the SDK catalogue's refresh state for GET /api/v1/admin/status; nil:
	// that route answers 404.
	Catalogue func() CatalogueState

	Logger *slog.Logger
	Now    func() time.Time // nil means time.Now
}

// JobStreamName is the default name of a job's live log stream: "job:<id>".
func JobStreamName(jobID int64) string { return "job:" + strconv.FormatInt(jobID, 10) }

// Handler serves the pages, the API, the badge and feed listings. Make it with New.
type Handler struct {
	opt     Options
	log     *slog.Logger
	now     func() time.Time
	pages   *template.Template
	static  http.Handler
	repoMux *http.ServeMux // routes below /<owner>/<repo>
	apiMux  *http.ServeMux // routes below /api/v1
	oauth   map[string]OAuthProvider
	auth    *authCache // opt.Authorizer's answers for showing pages; nil without one
	secure  bool       // cookies get Secure when PublicURL is https
}

// New checks opt and returns the handler to mount at the URL root.
func New(opt Options) (*Handler, error) {
	switch {
	case opt.History == nil:
		return nil, errors.New("web: Options.History is required")
	case opt.Feeds == nil:
		return nil, errors.New("web: Options.Feeds is required")
	case opt.PublicURL == "":
		return nil, errors.New("web: Options.PublicURL is required (the base of feed links)")
	case len(opt.SessionSecret) < 32:
		return nil, errors.New("web: Options.SessionSecret must be at least 32 bytes (set OPENWRT_PPA_SESSION_SECRET)")
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	if opt.LogStreamName == nil {
		opt.LogStreamName = JobStreamName
	}
	h := &Handler{opt: opt, log: opt.Logger, now: opt.Now, oauth: map[string]OAuthProvider{}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.secure = strings.HasPrefix(opt.PublicURL, "https://")
	if opt.Authorizer != nil {
		h.auth = newAuthCache(opt.Authorizer, h.now)
	}
	for _, p := range opt.OAuth {
		if p.Forge == "" || p.Config.ClientID == "" {
			return nil, fmt.Errorf("web: OAuth provider %q needs a forge name and a client id", p.Title)
		}
		p.Config.RedirectURL = opt.PublicURL + "/auth/" + p.Forge + "/callback"
		h.oauth[p.Forge] = p
	}
	var err error
	if h.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	h.static = staticHandler()
	h.repoMux = h.repoRoutes()
	h.apiMux = h.apiRoutes()
	return h, nil
}

// ServeHTTP dispatches on the first path segment: the service's reserved names, else an owner.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	first, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	switch first {
	case "":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.methodNotAllowed(w, r, "GET")
			return
		}
		h.home(w, r)
	case "static":
		h.static.ServeHTTP(w, r)
	case "login":
		h.login(w, r)
	case "logout":
		h.logout(w, r)
	case "auth":
		h.callback(w, r)
	case "api":
		h.apiMux.ServeHTTP(w, r)
	case "favicon.ico":
		w.Header().Set("Cache-Control", "max-age=86400")
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	case "-":
		if path != addRepoPath {
			h.notFound(w, r)
			return
		}
		h.addRepo(w, r)
	default:
		if Reserved(first) {
			h.errorPage(w, r, http.StatusNotFound, "Page not found",
				"There is no page at "+r.URL.Path+".", "Start again from the list of repositories.")
			return
		}
		h.repoMux.ServeHTTP(w, r)
	}
}
