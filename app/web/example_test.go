package web_test

import (
	"context"
	"log"
	"net/http"

	"github.com/openwrt-ppa/openwrt-ppa/app/web"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/inproc"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
)

// How the service mounts the web handler: its own routes (webhooks, health, metrics) on more
// specific patterns, web at the root, and the feed file server handed to web, which passes it
// every path it does not own (feed files, folders for routers, /-/key.pub).
func ExampleNew() {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, "data/db.sqlite")
	if err != nil {
		log.Fatal(err)
	}
	var (
		feedFiles http.Handler   = http.FileServer(http.Dir("data/feeds")) // feeds.NewHandler in the service
		lister    web.FeedLister = nil                                     // the service's feed index reader
		rebuilder web.Rebuilder  = nil                                     // the service's forced build
		authz     web.Authorizer = nil                                     // forge.Permissions behind it
		webhook   http.Handler   = http.NotFoundHandler()                  // forge.NewWebhookHandler
	)
	h, err := web.New(web.Options{
		History: db, Logs: inproc.NewLogStream(inproc.LogOptions{}), LogDir: "data/logs",
		Feeds: lister, FeedFiles: feedFiles, Rebuilder: rebuilder, Authorizer: authz,
		PublicURL: "https://ppa.example.org", SessionSecret: []byte("32 bytes or more of a real secret"),
		AdminToken: "from OPENWRT_PPA_ADMIN_TOKEN",
		OAuth: []web.OAuthProvider{
			web.GitHubOAuth("client id", "client secret", "https://github.com", "https://api.github.com"),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/github", webhook)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.Handle("/", h)
	log.Fatal(http.ListenAndServe(":8080", mux))
}
