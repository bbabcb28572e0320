package web

import (
	_ "embed"
	"net/http"
)

// openAPISpec documents the JSON API; it is served at /api/v1/openapi.yaml and checked against
// apiTable by the tests.
//
//go:embed openapi.yaml
var openAPISpec []byte

func (h *Handler) apiSpec(w http.ResponseWriter, r *http.Request, _ access) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPISpec)
}
