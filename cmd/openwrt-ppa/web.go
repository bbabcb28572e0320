package main

import (
	"net/http"

	"github.com/openwrt-ppa/openwrt-ppa/app"
)

// webHandler is the web UI and JSON API of the runtime; nil until they are wired.
func webHandler(_ *app.Runtime) http.Handler { return nil }
