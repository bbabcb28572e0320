// Package web is the service's face for people and scripts: server-rendered pages (html/template,
// assets embedded with embed, a little JavaScript for copy buttons, the series/arch selector and
// live logs), the JSON API under /api/v1 (documented in openapi.yaml), the build status badge,
// sign-in with GitHub or GitLab OAuth, and readable listings of feed folders for browsers.
//
// The package reads history from internal/store and asks the service for everything else through
// the small interfaces in seams.go (Rebuilder, FeedLister, Authorizer). It never imports app: app
// imports it, implements those interfaces and mounts New's handler at the URL root, handing it the
// feed file server for every path web does not own.
package web
