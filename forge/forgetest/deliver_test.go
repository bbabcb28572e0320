package forgetest_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/forge"
	"github.com/openwrt-ppa/openwrt-ppa/forge/forgetest"
	"github.com/openwrt-ppa/openwrt-ppa/forge/github"
	"github.com/openwrt-ppa/openwrt-ppa/forge/gitlab"
)

// The delivery helpers make requests the real handlers accept, over a real HTTP server.
func TestDeliveries(t *testing.T) {
	ghw, _ := github.NewWebhook([]byte("gh"))
	glw, _ := gitlab.NewWebhook([]byte("gl"))
	inbox := forgetest.NewInbox()
	mux := http.NewServeMux()
	mux.Handle("/webhooks/github", forge.NewWebhookHandler(ghw, inbox, forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)}))
	mux.Handle("/webhooks/gitlab", forge.NewWebhookHandler(glw, inbox, forge.WebhookConfig{Logger: slog.New(slog.DiscardHandler)}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ghReq, _ := forgetest.GitHubRequest(srv.URL+"/webhooks/github", "ping", "p1", []byte("gh"), []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`))
	glReq, _ := forgetest.GitLabRequest(srv.URL+"/webhooks/gitlab", "Push Hook", "u1", "gl",
		[]byte(`{"object_kind":"push","ref":"refs/heads/main","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","project_id":3,"project":{"path_with_namespace":"a/b"}}`))
	for _, r := range []*http.Request{ghReq, glReq} {
		resp, err := http.DefaultClient.Do(r.WithContext(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s: status %d", r.URL.Path, resp.StatusCode)
		}
	}
	evs := inbox.Events()
	if len(evs) != 2 || evs[0].Kind != forge.KindPing || evs[1].Kind != forge.KindPush || evs[1].Repo.FullName() != "a/b" {
		t.Errorf("events %+v", evs)
	}
}
