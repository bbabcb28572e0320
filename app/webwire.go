package app

import (
	"crypto/rand"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/app/jobs"
	"github.com/openwrt-ppa/openwrt-ppa/app/web"
)

// Web returns the pages and API of the runtime, with the feed files (and the key files) behind
// them for every path the pages do not own.
func (rt *Runtime) Web() (http.Handler, error) {
	cfg := rt.Config
	secret := []byte(cfg.SessionSecret.Reveal())
	if len(secret) < 32 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
		if cfg.SessionSecret != "" || cfg.GitHubClientID != "" || cfg.GitLabClientID != "" {
			rt.log.Warn("OPENWRT_PPA_SESSION_SECRET is missing or shorter than 32 bytes: using a random one, so sign-ins end at a restart and do not work across replicas")
		}
	}
	var oauth []web.OAuthProvider
	if cfg.GitHubClientID != "" {
		apiURL := strings.TrimRight(cfg.GitHubAPIURL, "/")
		webURL := "https://github.com"
		if apiURL != "" && !strings.Contains(apiURL, "api.github.com") {
			webURL = strings.TrimSuffix(apiURL, "/api/v3") // GitHub Enterprise Server
		}
		if apiURL == "" {
			apiURL = "https://api.github.com"
		}
		oauth = append(oauth, web.GitHubOAuth(cfg.GitHubClientID, cfg.GitHubClientSecret.Reveal(), webURL, apiURL))
	}
	if cfg.GitLabClientID != "" {
		oauth = append(oauth, web.GitLabOAuth(cfg.GitLabClientID, cfg.GitLabClientSecret.Reveal(), cfg.GitLabURL))
	}
	return web.New(web.Options{
		History: rt.Store, Logs: rt.Logs, LogDir: filepath.Join(cfg.Data, "logs"),
		Feeds:     &feedLister{feeds: rt.Feeds, keys: rt.Keys},
		FeedFiles: rt.Service.filesHandler(rt.Hooks.Feeds),
		Rebuilder: rt.Service.events, Authorizer: authorizer{rt.Service}, WebhookSecrets: rt.Store,
		Registrar: registrar{rt.Service.remotes},
		PublicURL: cfg.BaseURL(), SessionSecret: secret, AdminToken: cfg.AdminToken.Reveal(),
		OAuth: oauth, LogStreamName: jobs.LogStreamName, Logger: rt.log, ReadToken: rt.Service.tokens.Token,
		FirstSteps: cfg.FirstSteps(), Catalogue: rt.catalogueState,
	})
}
