package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// Handlers are the HTTP pieces the router combines; nil ones answer 404 (or, for webhooks of a
// forge that is not configured, 404 with a hint).
type Handlers struct {
	GitHubHook http.Handler
	GitLabHook http.Handler
	GitHook    http.Handler // /webhooks/git/<id>: pushes of repositories by URL
	Feeds      http.Handler // the feed files, below the URL root
	Web        http.Handler // pages, API, sign-in, static assets
	Metrics    http.Handler
}

// Router routes the service's URL space (DESIGN.md "URLs"): service routes take reserved top-level
// names, everything else is a repository's pages, keys or feeds.
func (s *Service) Router(h Handlers) http.Handler {
	mux := http.NewServeMux()
	hook := func(name string, hh http.Handler) http.Handler {
		if hh == nil {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "the "+name+" integration is not configured on this service: set its OPENWRT_PPA_"+strings.ToUpper(name)+"_* settings", http.StatusNotFound)
			})
		}
		return s.countWebhooks(name, hh)
	}
	mux.Handle("/webhooks/github", hook("github", h.GitHubHook))
	mux.Handle("/webhooks/gitlab", hook("gitlab", h.GitLabHook))
	if h.GitHook != nil {
		mux.Handle("/webhooks/git/", s.countWebhooks("git", h.GitHook))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", s.readyz)
	if h.Metrics != nil {
		mux.Handle("/metrics", h.Metrics)
	}
	if h.Web != nil {
		mux.Handle("/", h.Web) // it hands what it does not own to the files handler
	} else {
		mux.Handle("/", s.filesHandler(h.Feeds))
	}
	return mux
}

// filesHandler serves what routers fetch: a repository's key files and its feeds.
func (s *Service) filesHandler(feedFiles http.Handler) http.Handler {
	if feedFiles == nil {
		feedFiles = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(segs) >= 2 && !s.guard.Allow(w, r, segs[0], segs[1]) {
			return
		}
		if len(segs) == 4 && segs[2] == "-" && (segs[3] == "key.pub" || segs[3] == "preview-key.pub") {
			s.serveKey(w, r, segs[0], segs[1], segs[3])
			return
		}
		feedFiles.ServeHTTP(w, r)
	})
}

// serveKey answers /<owner>/<repo>/-/key.pub and preview-key.pub: the public keys routers trust.
func (s *Service) serveKey(w http.ResponseWriter, r *http.Request, owner, name, file string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	repo, err := s.store.RepositoryByPath(r.Context(), strings.ReplaceAll(owner, "~", "/"), name)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no repository "+owner+"/"+name+" is built here: check the owner and name", http.StatusNotFound)
		return
	}
	if err != nil || s.keys == nil {
		http.Error(w, "the key cannot be read right now; try again later", http.StatusServiceUnavailable)
		return
	}
	kind := store.KeyMain
	if file == "preview-key.pub" {
		kind = store.KeyPreview
	}
	pub, text, err := s.keys.Public(r.Context(), repo.ID, kind)
	if err != nil {
		s.log.Error("reading public key", "repo", repo.Path(), "err", err)
		http.Error(w, "the key cannot be read right now; try again later", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Routers install the key as /etc/opkg/keys/<fingerprint>.
	w.Header().Set("X-Key-Fingerprint", pub.Fingerprint.String())
	w.Header().Set("Content-Disposition", `attachment; filename="`+pub.Fingerprint.String()+`"`)
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(text)))
}

// readyz answers 200 when the store and the queue answer.
func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	// The public gets a short reason; the error itself (addresses, paths) goes to the log.
	if _, err := s.store.ListRepositories(ctx, store.RepositoryQuery{Limit: 1}); err != nil {
		s.log.Warn("not ready: the store does not answer", "err", err)
		http.Error(w, "store not ready", http.StatusServiceUnavailable)
		return
	}
	if _, err := s.queue.Len(ctx); err != nil {
		s.log.Warn("not ready: the queue does not answer", "err", err)
		http.Error(w, "queue not ready", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// countWebhooks counts deliveries by forge, event and answer.
func (s *Service) countWebhooks(name string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		event := r.Header.Get("X-GitHub-Event")
		if name == string(forge.GitLab) {
			event = r.Header.Get("X-Gitlab-Event")
		}
		// Only a verified delivery names its event: anyone can send headers, and every distinct
		// label value is a new series.
		if rec.status >= 300 || len(event) > 40 || event == "" {
			event = "unverified"
		}
		s.metrics.Webhooks.WithLabelValues(name, event, http.StatusText(rec.status)).Inc()
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
