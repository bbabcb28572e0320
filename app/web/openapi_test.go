package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// spec is openapi.yaml, decoded.
type spec struct {
	root map[string]any
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(openAPISpec, &root); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return spec{root}
}

// operations returns "METHOD /path" of every documented operation.
func (s spec) operations() []string {
	var ops []string
	for p, item := range s.root["paths"].(map[string]any) {
		for m := range item.(map[string]any) {
			if m == "parameters" {
				continue
			}
			ops = append(ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(ops)
	return ops
}

// responses returns the documented responses of an operation by status.
func (s spec) responses(op string) map[string]any {
	m, p, _ := strings.Cut(op, " ")
	o := s.root["paths"].(map[string]any)[p].(map[string]any)[strings.ToLower(m)].(map[string]any)
	return o["responses"].(map[string]any)
}

func (s spec) resolve(v map[string]any) map[string]any {
	for {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		cur := any(s.root)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		v = cur.(map[string]any)
	}
}

// validate checks v against schema: types, enums, required and declared properties (an object
// may hold no property its schema does not declare: no undocumented fields).
func (s spec) validate(path string, v any, schema map[string]any) []string {
	schema = s.resolve(schema)
	if alts, ok := schema["oneOf"].([]any); ok {
		var all []string
		for _, a := range alts {
			errs := s.validate(path, v, a.(map[string]any))
			if len(errs) == 0 {
				return nil
			}
			all = append(all, errs...)
		}
		return []string{fmt.Sprintf("%s matches no oneOf branch: %v", path, all)}
	}
	props, required, isObject := s.objectShape(schema)
	if isObject {
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", path, v)}
		}
		var errs []string
		for _, r := range required {
			if _, ok := obj[r]; !ok {
				errs = append(errs, fmt.Sprintf("%s: required property %q missing", path, r))
			}
		}
		for k, val := range obj {
			ps, ok := props[k]
			if !ok {
				errs = append(errs, fmt.Sprintf("%s: property %q is not documented", path, k))
				continue
			}
			errs = append(errs, s.validate(path+"."+k, val, ps)...)
		}
		return errs
	}
	var types []string
	switch t := schema["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, x := range t {
			types = append(types, x.(string))
		}
	}
	if len(types) > 0 && !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
		return []string{fmt.Sprintf("%s: %v (%T) is not of type %v", path, v, v, types)}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, v) {
		return []string{fmt.Sprintf("%s: %v is not one of %v", path, v, enum)}
	}
	if items, ok := schema["items"].(map[string]any); ok {
		var errs []string
		for i, it := range v.([]any) {
			errs = append(errs, s.validate(fmt.Sprintf("%s[%d]", path, i), it, items)...)
		}
		return errs
	}
	return nil
}

// objectShape flattens allOf into one object's properties and required names.
func (s spec) objectShape(schema map[string]any) (map[string]map[string]any, []string, bool) {
	schema = s.resolve(schema)
	props := map[string]map[string]any{}
	var required []string
	isObject := schema["type"] == "object"
	if ps, ok := schema["properties"].(map[string]any); ok {
		for k, p := range ps {
			props[k] = p.(map[string]any)
		}
	}
	for _, r := range asList(schema["required"]) {
		required = append(required, r.(string))
	}
	for _, part := range asList(schema["allOf"]) {
		pp, rr, obj := s.objectShape(part.(map[string]any))
		isObject = isObject || obj
		for k, v := range pp {
			props[k] = v
		}
		required = append(required, rr...)
	}
	return props, required, isObject
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "number":
		_, ok := v.(float64)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// TestOpenAPIDocumentsEveryRoute: the handler's route table and the document name the same
// operations.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	sp := loadSpec(t)
	var routes []string
	for _, rt := range apiTable() {
		routes = append(routes, rt.Method+" "+rt.Pattern)
	}
	sort.Strings(routes)
	if !slices.Equal(routes, sp.operations()) {
		t.Errorf("routes and openapi.yaml differ:\nroutes:   %v\ndocument: %v", routes, sp.operations())
	}
}

// TestOpenAPIShapes calls every documented operation (and its documented errors) on the seeded
// service and checks each answer's status is documented and its body has the documented shape.
func TestOpenAPIShapes(t *testing.T) {
	fx := newFixture(t)
	sp := loadSpec(t)
	build, job := strconv.FormatInt(fx.mainBuild.ID, 10), strconv.FormatInt(fx.mainJobs[1].ID, 10)
	fill := func(p, id string) string {
		return "/api/v1" + strings.NewReplacer("{owner}", "alice", "{repo}", "packages", "{id}", id).Replace(p)
	}
	type call struct {
		op, url, method, body string
		admin                 bool
		status                int
	}
	reg, err := fx.st.AddWebhookSecret(context.Background(), store.WebhookSecret{Forge: "gitlab", ScopeKind: store.ScopeGroup, ScopeID: 7, SHA256: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	const secretBody = `{"scope_kind": "project", "scope_id": 4242, "note": "wifi-tools"}`
	var calls []call
	for _, op := range sp.operations() {
		m, p, _ := strings.Cut(op, " ")
		id := build
		body := `{"ref": {"kind": "branch", "name": "main"}}`
		if strings.Contains(p, "/jobs/") {
			id = job
		}
		if strings.HasPrefix(p, "/admin/") {
			id, body = strconv.FormatInt(reg.ID, 10), secretBody
		}
		if p == "/repos" {
			body = `{"url": "https://example.org/carol/feed.git"}`
		}
		calls = append(calls, call{op: op, url: fill(p, id), method: m, admin: m != "GET" || strings.HasPrefix(p, "/admin/"),
			status: map[string]int{"GET": 200, "POST": 201, "DELETE": 204}[m], body: body})
	}
	nf := func(op, url string) call { return call{op: op, url: url, method: "GET", status: 404} }
	calls = append(calls,
		call{op: "GET /repos", url: "/api/v1/repos?limit=0", method: "GET", status: 400},
		call{op: "GET /repos", url: "/api/v1/repos?search=PACK&limit=1", method: "GET", status: 200},
		nf("GET /repos/{owner}/{repo}", "/api/v1/repos/alice/nothing"),
		nf("GET /repos/{owner}/{repo}", "/api/v1/repos/bob/secret"),
		nf("GET /repos/{owner}/{repo}/refs", "/api/v1/repos/alice/nothing/refs"),
		call{op: "GET /repos/{owner}/{repo}/feeds", url: "/api/v1/repos/alice/packages/feeds?ref=pr:seven", method: "GET", status: 400},
		call{op: "GET /repos/{owner}/{repo}/feeds", url: "/api/v1/repos/alice/packages/feeds?ref=pr:7", method: "GET", status: 200},
		nf("GET /repos/{owner}/{repo}/feeds", "/api/v1/repos/nobody/nothing/feeds"),
		call{op: "GET /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds?trigger=cron", method: "GET", status: 400},
		call{op: "GET /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds?ref=branch:feature/x&status=running", method: "GET", status: 200},
		nf("GET /repos/{owner}/{repo}/builds", "/api/v1/repos/alice/nothing/builds"),
		call{op: "POST /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds", method: "POST", status: 401},
		call{op: "POST /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds", method: "POST", admin: true, body: `{"ref": {"kind": "branch"}}`, status: 400},
		call{op: "POST /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds", method: "POST", admin: true, body: `{"ref": {"kind": "branch", "name": "gone"}}`, status: 404},
		call{op: "POST /repos/{owner}/{repo}/builds", url: "/api/v1/repos/alice/packages/builds", method: "POST", admin: true, body: `{"color": "red"}`, status: 400},
		nf("GET /repos/{owner}/{repo}/builds/{id}", "/api/v1/repos/alice/packages/builds/999999"),
		nf("GET /repos/{owner}/{repo}/builds/{id}", fill("/repos/{owner}/{repo}/builds/{id}", strconv.FormatInt(fx.privateBuild.ID, 10))),
		nf("GET /repos/{owner}/{repo}/jobs/{id}/log", fill("/repos/{owner}/{repo}/jobs/{id}/log", strconv.FormatInt(fx.queuedJob.ID, 10))),
		nf("GET /repos/{owner}/{repo}/jobs/{id}/log", "/api/v1/repos/alice/packages/jobs/0/log"),
		nf("GET /repos/{owner}/{repo}/jobs/{id}/events", "/api/v1/repos/alice/packages/jobs/999999/events"),
		call{op: "POST /repos", url: "/api/v1/repos", method: "POST", body: `{"url": "https://example.org/x/y"}`, status: 401},
		call{op: "POST /repos", url: "/api/v1/repos", method: "POST", admin: true, body: `{"url": "file:///srv/x"}`, status: 400},
		call{op: "POST /repos", url: "/api/v1/repos", method: "POST", admin: true, body: `{"url": "https://example.org/a/b", "name": "alice/packages"}`, status: 409},
		call{op: "DELETE /repos/{owner}/{repo}", url: "/api/v1/repos/alice/packages", method: "DELETE", status: 401},
		call{op: "GET /admin/gitlab-secrets", url: "/api/v1/admin/gitlab-secrets", method: "GET", status: 401},
		call{op: "POST /admin/gitlab-secrets", url: "/api/v1/admin/gitlab-secrets", method: "POST", body: secretBody, status: 401},
		call{op: "POST /admin/gitlab-secrets", url: "/api/v1/admin/gitlab-secrets", method: "POST", admin: true, body: `{"scope_kind": "user", "scope_id": 1}`, status: 400},
		call{op: "DELETE /admin/gitlab-secrets/{id}", url: "/api/v1/admin/gitlab-secrets/999999", method: "DELETE", admin: true, status: 404},
		call{op: "DELETE /admin/gitlab-secrets/{id}", url: "/api/v1/admin/gitlab-secrets/1", method: "DELETE", status: 401},
		call{op: "GET /admin/status", url: "/api/v1/admin/status", method: "GET", status: 401},
	)
	c := fx.client(t)
	for _, cl := range calls {
		t.Run(cl.method+" "+cl.url, func(t *testing.T) {
			var body io.Reader
			if cl.method == "POST" || cl.method == "DELETE" {
				body = strings.NewReader(cl.body)
			}
			req, _ := http.NewRequest(cl.method, fx.srv.URL+cl.url, body)
			if cl.admin {
				req.Header.Set("Authorization", "Bearer "+adminToken)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != cl.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, cl.status, raw)
			}
			doc, ok := sp.responses(cl.op)[strconv.Itoa(resp.StatusCode)]
			if !ok {
				t.Fatalf("status %d is not documented for %s", resp.StatusCode, cl.op)
			}
			content, _ := sp.resolve(doc.(map[string]any))["content"].(map[string]any)
			if resp.StatusCode == http.StatusNoContent && content == nil && len(raw) == 0 {
				return
			}
			ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
			media, ok := content[ctype].(map[string]any)
			if !ok {
				t.Fatalf("content type %q is not documented for %s %d (have %v)", ctype, cl.op, resp.StatusCode, content)
			}
			if ctype != "application/json" {
				return
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("body is not JSON: %v\n%s", err, raw)
			}
			for _, e := range sp.validate("body", v, media["schema"].(map[string]any)) {
				t.Error(e)
			}
		})
	}
}

// TestAPIUndocumentedRoutes: a path or method the document does not name is a JSON 404 or 405.
func TestAPIUndocumentedRoutes(t *testing.T) {
	fx := newFixture(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/nothing", 404},
		{"GET", "/api/v2/repos", 404},
		{"PUT", "/api/v1/repos/alice/packages", 405},
		{"GET", "/api/v1/repos/alice/packages/keys", 404},
	} {
		req, _ := http.NewRequest(tc.method, fx.srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}
