package forgetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"
)

// GitHubAppID is the App id the fake GitHub expects in JWTs.
const GitHubAppID = 4242

// GitHub is a fake GitHub REST API for a GitHub App. It issues installation tokens for App
// JWTs it can verify, checks every request's auth (JWT on /app endpoints, a live installation
// token elsewhere), validates request bodies against the project's OpenAPI subset, keeps check
// runs, comments and reactions, and records every call. Failures are reported with t.Errorf
// and answered as GitHub would (401, 422).
type GitHub struct {
	*httptest.Server
	recorder
	t     testing.TB
	specs []*Spec // every request body must satisfy each
	key   *rsa.PrivateKey

	mu            sync.Mutex
	tokens        map[string]int64 // token → installation
	installations map[string]int64 // "owner/repo" → installation
	permissions   map[string]string
	files         map[string][]byte
	pulls         map[string]map[string]any
	checkRuns     map[int64]map[string]any
	comments      []map[string]any
	reactions     []map[string]any
	nextID        int64
	limited       map[string]int // "METHOD /path" → secondary rate limit answers still to give
	tokenTTL      time.Duration
}

// NewGitHub starts a fake GitHub; it stops when the test ends. Its App key is PrivateKeyPEM.
func NewGitHub(t testing.TB) *GitHub {
	t.Helper()
	// The project's description always; GitHub's own (the shared corpus) too when it is there.
	spec, err := ProjectSpec()
	if err != nil {
		t.Fatalf("forgetest: %v", err)
	}
	specs := []*Spec{spec}
	if dir, ok := SharedTestdataIfPresent("api"); ok {
		shared, err := LoadSpec(filepath.Join(dir, "github-openapi-subset.json"))
		if err != nil {
			t.Fatalf("forgetest: %v", err)
		}
		specs = append(specs, shared)
	}
	// 1024 bits: fast to make in every test, and the smallest crypto/rsa accepts; test-only.
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	g := &GitHub{
		t: t, specs: specs, key: key,
		tokens:        map[string]int64{},
		installations: map[string]int64{},
		permissions:   map[string]string{},
		files:         map[string][]byte{},
		pulls:         map[string]map[string]any{},
		checkRuns:     map[int64]map[string]any{},
		limited:       map[string]int{},
		nextID:        1000,
		tokenTTL:      time.Hour,
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.Close)
	return g
}

// PrivateKeyPEM is the App's private key, for the client's configuration.
func (g *GitHub) PrivateKeyPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(g.key)})
}

// AddInstallation installs the App on owner/repo as installation id.
func (g *GitHub) AddInstallation(fullName string, id int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.installations[fullName] = id
}

// SetPermission sets user's permission on owner/repo: admin, maintain, write, triage, read
// or none. Users never set are unknown to GitHub (404).
func (g *GitHub) SetPermission(fullName, user, perm string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.permissions[fullName+"\x00"+user] = perm
}

// SetFile makes path readable at ref in owner/repo.
func (g *GitHub) SetFile(fullName, ref, path string, data []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[fullName+"@"+ref+":"+path] = data
}

// SetPull stores pull request number of owner/repo with its head.
func (g *GitHub) SetPull(fullName string, number int, headSHA, headRef, baseRef string, headRepoID, baseRepoID int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pulls[fullName+"#"+strconv.Itoa(number)] = map[string]any{
		"number": number,
		"head":   map[string]any{"sha": headSHA, "ref": headRef, "repo": map[string]any{"id": headRepoID}},
		"base":   map[string]any{"ref": baseRef, "repo": map[string]any{"id": baseRepoID}},
	}
}

// SetTokenTTL sets how long the installation tokens it issues live (GitHub: one hour).
func (g *GitHub) SetTokenTTL(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tokenTTL = d
}

// RateLimit makes the next n requests to method and path answer with GitHub's secondary rate
// limit (403, Retry-After: 0).
func (g *GitHub) RateLimit(method, path string, n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limited[method+" "+path] = n
}

// TokenInstallation returns the installation a token was issued for, when the fake issued it:
// a test's git server uses it to accept clones with installation tokens, as GitHub does.
func (g *GitHub) TokenInstallation(token string) (int64, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, ok := g.tokens[token]
	return id, ok
}

// CheckRun returns the check run as last written (the merged JSON fields), or nil.
func (g *GitHub) CheckRun(id int64) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A copy: the fake keeps updating its own as requests arrive.
	return maps.Clone(g.checkRuns[id])
}

// Comments returns the comments created, in order.
func (g *GitHub) Comments() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.comments...)
}

// Reactions returns the reactions created, in order.
func (g *GitHub) Reactions() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.reactions...)
}

var (
	reAccessToken  = regexp.MustCompile(`^/app/installations/(\d+)/access_tokens$`)
	reInstallation = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/installation$`)
	reCheckRuns    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/check-runs$`)
	reCheckRun     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/check-runs/(\d+)$`)
	reComments     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/(\d+)/comments$`)
	reReactions    = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/issues/comments/(\d+)/reactions$`)
	reContents     = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/contents/(.+)$`)
	rePermission   = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/collaborators/([^/]+)/permission$`)
	rePull         = regexp.MustCompile(`^/repos/([^/]+/[^/]+)/pulls/(\d+)$`)
)

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	call := Call{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"), Body: body}
	status, resp := g.answer(r, call)
	call.Status = status
	g.add(call)
	if status == http.StatusForbidden && resp == nil {
		w.Header().Set("Retry-After", "0")
		resp = map[string]any{
			"message":           "You have exceeded a secondary rate limit.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (g *GitHub) answer(r *http.Request, c Call) (int, any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := g.limited[c.String()]; n > 0 {
		g.limited[c.String()] = n - 1
		return http.StatusForbidden, nil
	}
	for _, spec := range g.specs {
		if err := spec.Validate(c.Method, c.Path, c.Body); err != nil {
			g.t.Errorf("fake GitHub: %s: %v\nbody: %s", c, err, c.Body)
			return http.StatusUnprocessableEntity, map[string]any{"message": err.Error()}
		}
	}
	// /app endpoints take the App's JWT; everything else an installation token.
	appEndpoint := strings.HasPrefix(c.Path, "/app/") || reInstallation.MatchString(c.Path)
	inst := int64(0)
	if appEndpoint {
		if err := g.checkJWT(c.Auth); err != nil {
			g.t.Errorf("fake GitHub: %s: %v", c, err)
			return http.StatusUnauthorized, map[string]any{"message": err.Error()}
		}
	} else {
		tok, _ := strings.CutPrefix(c.Auth, "token ")
		id, ok := g.tokens[tok]
		if !ok {
			g.t.Errorf("fake GitHub: %s: Authorization %q is no installation token it issued", c, c.Auth)
			return http.StatusUnauthorized, map[string]any{"message": "Bad credentials"}
		}
		inst = id
	}
	if m := reAccessToken.FindStringSubmatch(c.Path); m != nil && c.Method == "POST" {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		g.nextID++
		tok := fmt.Sprintf("ghs_fake%d", g.nextID)
		g.tokens[tok] = id
		return http.StatusCreated, map[string]any{"token": tok, "expires_at": time.Now().Add(g.tokenTTL).UTC().Format(time.RFC3339)}
	}
	if m := reInstallation.FindStringSubmatch(c.Path); m != nil {
		id, ok := g.installations[m[1]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Not Found"}
		}
		return http.StatusOK, map[string]any{"id": id}
	}
	repo := ""
	for _, re := range []*regexp.Regexp{reCheckRuns, reCheckRun, reComments, reReactions, reContents, rePermission, rePull} {
		if m := re.FindStringSubmatch(c.Path); m != nil {
			repo = m[1]
			break
		}
	}
	if want, ok := g.installations[repo]; repo != "" && (!ok || want != inst) {
		g.t.Errorf("fake GitHub: %s with the token of installation %d, which does not cover %s", c, inst, repo)
		return http.StatusNotFound, map[string]any{"message": "Not Found"}
	}
	var req map[string]any
	_ = json.Unmarshal(c.Body, &req)
	switch {
	case (c.Method == "POST" || c.Method == "PATCH") && strings.Contains(c.Path, "/check-runs") && outputTooBig(req):
		// GitHub counts these limits in bytes, stricter than the description's characters.
		g.t.Errorf("fake GitHub: %s: output summary or text over 65535 bytes", c)
		return http.StatusUnprocessableEntity, map[string]any{"message": "summary exceeds a maximum bytesize of 65535"}
	case c.Method == "POST" && reCheckRuns.MatchString(c.Path):
		if req["status"] == "completed" && req["conclusion"] == nil {
			g.t.Errorf("fake GitHub: %s: conclusion is required with status completed", c)
			return http.StatusUnprocessableEntity, map[string]any{"message": "conclusion required"}
		}
		g.nextID++
		req["id"] = g.nextID
		g.checkRuns[g.nextID] = req
		return http.StatusCreated, req
	case c.Method == "PATCH" && reCheckRun.MatchString(c.Path):
		id, _ := strconv.ParseInt(reCheckRun.FindStringSubmatch(c.Path)[2], 10, 64)
		run, ok := g.checkRuns[id]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Not Found"}
		}
		for k, v := range req {
			if k == "output" {
				// Annotations append, as on GitHub; title and summary replace.
				old, _ := run["output"].(map[string]any)
				nw, _ := v.(map[string]any)
				merged := map[string]any{}
				for k2, v2 := range old {
					merged[k2] = v2
				}
				for k2, v2 := range nw {
					merged[k2] = v2
				}
				oldA, _ := old["annotations"].([]any)
				newA, _ := nw["annotations"].([]any)
				merged["annotations"] = append(append([]any{}, oldA...), newA...)
				run["output"] = merged
				continue
			}
			run[k] = v
		}
		return http.StatusOK, run
	case c.Method == "POST" && reComments.MatchString(c.Path):
		g.nextID++
		req["id"] = g.nextID
		req["issue_number"], _ = strconv.Atoi(reComments.FindStringSubmatch(c.Path)[2])
		g.comments = append(g.comments, req)
		return http.StatusCreated, req
	case c.Method == "POST" && reReactions.MatchString(c.Path):
		g.nextID++
		req["id"] = g.nextID
		req["comment_id"], _ = strconv.ParseInt(reReactions.FindStringSubmatch(c.Path)[2], 10, 64)
		g.reactions = append(g.reactions, req)
		return http.StatusCreated, req
	case c.Method == "GET" && reContents.MatchString(c.Path):
		path := reContents.FindStringSubmatch(c.Path)[2]
		data, ok := g.files[repo+"@"+r.URL.Query().Get("ref")+":"+path]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Not Found"}
		}
		return http.StatusOK, map[string]any{
			"type": "file", "encoding": "base64", "name": filepath.Base(path), "path": path,
			"size": len(data), "content": base64.StdEncoding.EncodeToString(data),
		}
	case c.Method == "GET" && rePermission.MatchString(c.Path):
		user := rePermission.FindStringSubmatch(c.Path)[2]
		perm, ok := g.permissions[repo+"\x00"+user]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Not Found"}
		}
		// Like GitHub: "permission" knows only admin/write/read/none; role_name tells the rest.
		legacy := map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}[perm]
		if legacy == "" {
			legacy = "none"
		}
		return http.StatusOK, map[string]any{"permission": legacy, "role_name": perm, "user": map[string]any{"login": user}}
	case c.Method == "GET" && rePull.MatchString(c.Path):
		pr, ok := g.pulls[repo+"#"+rePull.FindStringSubmatch(c.Path)[2]]
		if !ok {
			return http.StatusNotFound, map[string]any{"message": "Not Found"}
		}
		return http.StatusOK, pr
	}
	g.t.Errorf("fake GitHub: no route for %s", c)
	return http.StatusNotFound, map[string]any{"message": "Not Found"}
}

// checkJWT verifies an App JWT: RS256, signed with the App's key, issued for GitHubAppID.
func (g *GitHub) checkJWT(auth string) error {
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return fmt.Errorf("app endpoint wants \"Bearer <JWT>\", got %q", auth)
	}
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(tok *jwt.Token) (any, error) {
		if tok.Method.Alg() != "RS256" {
			return nil, fmt.Errorf("JWT signed with %s, want RS256", tok.Method.Alg())
		}
		return &g.key.PublicKey, nil
	})
	if err != nil {
		return fmt.Errorf("App JWT: %w", err)
	}
	if claims.Issuer != strconv.Itoa(GitHubAppID) {
		return fmt.Errorf("App JWT issued by %q, want the App id %d", claims.Issuer, GitHubAppID)
	}
	return nil
}

func outputTooBig(req map[string]any) bool {
	out, _ := req["output"].(map[string]any)
	s, _ := out["summary"].(string)
	t, _ := out["text"].(string)
	return len(s) > 65535 || len(t) > 65535
}
