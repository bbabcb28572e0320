package remote

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/internal/giturl"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

// maxHookBody bounds a push webhook's body: a push payload lists commits, not files.
const maxHookBody = 1 << 20

// Push is what a forge's push webhook says, in the shape Gitea, Forgejo (and GitHub, and
// GitLab for ref/before/after) send.
type Push struct {
	Ref        string `json:"ref"`
	Before     string `json:"before"`
	After      string `json:"after"`
	Repository struct {
		CloneURL string `json:"clone_url"` // Gitea, Forgejo, GitHub
		SSHURL   string `json:"ssh_url"`
		HTTPURL  string `json:"git_http_url"` // GitLab
		GitSSH   string `json:"git_ssh_url"`
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// URLs are the clone URLs the payload names its repository by; none for a bare "look now".
func (p Push) URLs() []string {
	var out []string
	for _, u := range []string{p.Repository.CloneURL, p.Repository.SSHURL, p.Repository.HTTPURL, p.Repository.GitSSH} {
		if strings.TrimSpace(u) != "" {
			out = append(out, u)
		}
	}
	return out
}

// Names reports whether the payload is about the repository at registered: it names no
// repository, or one of its clone URLs has the registered URL's host and path (scheme, user,
// port, letter case and a ".git" suffix aside: a forge's https and ssh URLs of one repository
// differ in those).
func (p Push) Names(registered string) bool {
	urls := p.URLs()
	if len(urls) == 0 {
		return true
	}
	want, ok := repoKey(registered)
	if !ok {
		return false
	}
	for _, u := range urls {
		if got, ok := repoKey(u); ok && got == want {
			return true
		}
	}
	return false
}

// repoKey is a clone URL's host and path, lower case, without ".git" or a trailing "/".
func repoKey(raw string) (string, bool) {
	u, err := giturl.Parse(raw)
	if err != nil {
		return "", false
	}
	p := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), ".git")
	return strings.ToLower(u.Hostname() + p), true
}

// ParsePush reads a push webhook's JSON body. An empty body is a push with nothing said (a
// plain "look now" call); anything else must be a JSON object.
func ParsePush(body []byte) (Push, error) {
	var p Push
	if len(strings.TrimSpace(string(body))) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return p, errors.New("the body is not a JSON push payload (ref, before, after, repository)")
	}
	if p.Ref != "" && !strings.HasPrefix(p.Ref, "refs/") {
		return p, errors.New("the payload's ref is not a full ref (refs/heads/…, refs/tags/…)")
	}
	return p, nil
}

// signatureHeaders carry a hex HMAC-SHA256 of the body: GitHub's (with "sha256=") and Gitea's
// and Forgejo's (bare hex).
var signatureHeaders = []string{"X-Hub-Signature-256", "X-Gitea-Signature", "X-Forgejo-Signature", "X-Gogs-Signature"}

// tokenHeaders carry the secret itself, as GitLab sends it.
var tokenHeaders = []string{"X-Gitlab-Token", "X-Openwrt-Ppa-Token"}

// verify checks a delivery against the repository's secret in constant time.
func verify(h http.Header, body []byte, secret string) bool {
	if secret == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, name := range signatureHeaders {
		v := strings.TrimPrefix(strings.TrimSpace(h.Get(name)), "sha256=")
		if v == "" {
			continue
		}
		got, err := hex.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	for _, name := range tokenHeaders {
		if v := h.Get(name); v != "" && subtle.ConstantTimeCompare([]byte(v), []byte(secret)) == 1 {
			return true
		}
	}
	return false
}

// WebhookHandler answers POST /webhooks/git/<repository id>: a verified push makes the poller
// list the repository's refs at once, so what is built is what the server has, not what the
// delivery says.
//
//	405 not POST · 404 no repository by URL with that id · 413 body over 1 MiB ·
//	401 bad or missing signature/token · 400 not a push payload · 422 the payload names another
//	repository · 202 the poll is due.
func (r *Remotes) WebhookHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			http.Error(w, "only POST", http.StatusMethodNotAllowed)
			return
		}
		id, err := strconv.ParseInt(strings.TrimPrefix(req.URL.Path, "/webhooks/git/"), 10, 64)
		if err != nil || id <= 0 {
			http.Error(w, "no such repository: the URL is /webhooks/git/<repository id>, as the repository's page shows", http.StatusNotFound)
			return
		}
		rem, err := r.store.Remote(req.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, "no repository registered by URL has this id", http.StatusNotFound)
			return
		}
		if err != nil {
			http.Error(w, "the store is unavailable; deliver again later", http.StatusServiceUnavailable)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxHookBody))
		if err != nil {
			http.Error(w, "the body is larger than 1 MiB", http.StatusRequestEntityTooLarge)
			return
		}
		if !verify(req.Header, body, rem.WebhookSecret) {
			http.Error(w, "bad or missing signature: sign the body with the repository's webhook secret (HMAC-SHA256 in X-Hub-Signature-256 or X-Gitea-Signature) or send it in X-Gitlab-Token", http.StatusUnauthorized)
			return
		}
		p, err := ParsePush(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !p.Names(rem.URL) {
			named := p.URLs()[0]
			if len(named) > 200 {
				named = named[:200] + "…"
			}
			http.Error(w, fmt.Sprintf("the payload is about another repository (%s), but this webhook is %s's: give each repository the webhook URL its page shows",
				named, rem.URL), http.StatusUnprocessableEntity)
			return
		}
		if err := r.PollSoon(req.Context(), id); err != nil {
			http.Error(w, "the store is unavailable; deliver again later", http.StatusServiceUnavailable)
			return
		}
		r.log.Info("push webhook: polling now", "repo_id", id, "ref", p.Ref, "after", p.After)
		w.WriteHeader(http.StatusAccepted)
	})
}
