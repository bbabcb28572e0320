package forgetest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// SignGitHub returns the X-Hub-Signature-256 value GitHub sends for body.
func SignGitHub(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// GitHubRequest builds a signed GitHub delivery of event to url (a test server's
// /webhooks/github), as GitHub sends it.
func GitHubRequest(url, event, delivery string, secret, body []byte) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitHub-Hookshot/forgetest")
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", delivery)
	r.Header.Set("X-Hub-Signature-256", SignGitHub(secret, body))
	return r, nil
}

// GitLabRequest builds a GitLab delivery of event ("Push Hook", "Note Hook"…) to url with the
// webhook's token; uuid goes to X-Gitlab-Event-UUID.
func GitLabRequest(url, event, uuid, token string, body []byte) (*http.Request, error) {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "GitLab/forgetest")
	r.Header.Set("X-Gitlab-Event", event)
	r.Header.Set("X-Gitlab-Event-UUID", uuid)
	r.Header.Set("X-Gitlab-Token", token)
	return r, nil
}
