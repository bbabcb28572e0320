package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	authv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/openwrt-ppa/openwrt-ppa/builder/kube"
)

// fakeAPIServer answers SelfSubjectAccessReviews on loopback, denying the "verb resource" pairs
// of deny, and notes the namespaces asked about.
func fakeAPIServer(t *testing.T, deny map[string]bool) (url string, namespaces func() []string) {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
			http.NotFound(w, r)
			return
		}
		// client-go sends protobuf or JSON, and takes JSON back.
		body, _ := io.ReadAll(r.Body)
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, nil)
		rev, ok := obj.(*authv1.SelfSubjectAccessReview)
		if err != nil || !ok {
			http.Error(w, fmt.Sprint("not a review: ", err), http.StatusBadRequest)
			return
		}
		a := rev.Spec.ResourceAttributes
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		mu.Lock()
		asked = append(asked, a.Namespace)
		mu.Unlock()
		rev.APIVersion, rev.Kind = "authorization.k8s.io/v1", "SelfSubjectAccessReview"
		rev.Status.Allowed = !deny[a.Verb+" "+res]
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rev)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

func kubeconfigFile(t *testing.T, server, namespace string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"" + server + "\"}}]\n" +
		"users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u, namespace: \"" + namespace + "\"}}]\ncurrent-context: x\n"
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenKubeExecutor: --executor kube makes the kube executor in the namespace the flag or
// else the kubeconfig's context names, and refuses to start, naming the permissions, when the
// account lacks some.
func TestOpenKubeExecutor(t *testing.T) {
	ctx := context.Background()
	open := func(cfg Config) (*Runtime, error) {
		rt := &Runtime{Config: cfg, log: slog.New(slog.DiscardHandler)}
		return rt, rt.OpenExecutor(ctx)
	}
	t.Run("allowed", func(t *testing.T) {
		url, asked := fakeAPIServer(t, nil)
		for _, tc := range []struct{ flag, ctxNS, want string }{{"", "from-context", "from-context"}, {"from-flag", "from-context", "from-flag"}, {"", "", "default"}} {
			rt, err := open(Config{Executor: ExecutorKube, Kubeconfig: kubeconfigFile(t, url, tc.ctxNS), KubeNamespace: tc.flag,
				KubeInstance: "ppa", KubeCPURequest: "100m", KubeMemoryRequest: "128Mi"})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := rt.Executor.(*kube.Executor); !ok {
				t.Fatalf("executor %T", rt.Executor)
			}
			ns := asked()
			if len(ns) == 0 || ns[len(ns)-1] != tc.want {
				t.Errorf("flag %q, context %q: asked about namespaces %v, want %q", tc.flag, tc.ctxNS, ns, tc.want)
			}
		}
	})
	t.Run("denied", func(t *testing.T) {
		url, _ := fakeAPIServer(t, map[string]bool{"create pods/exec": true, "delete jobs": true})
		rt, err := open(Config{Executor: ExecutorKube, Kubeconfig: kubeconfigFile(t, url, "builds"), KubeInstance: "ppa"})
		if err == nil || !strings.Contains(err.Error(), "may not delete jobs, create pods/exec in namespace builds") ||
			!strings.Contains(err.Error(), "docs/kubernetes.md") || rt.Executor != nil {
			t.Fatalf("err %v, executor %v", err, rt.Executor)
		}
	})
	t.Run("no cluster", func(t *testing.T) {
		_, err := open(Config{Executor: ExecutorKube, Kubeconfig: filepath.Join(t.TempDir(), "missing"), KubeInstance: "ppa"})
		if err == nil || !strings.Contains(err.Error(), "--kubeconfig") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("unknown executor", func(t *testing.T) {
		if _, err := open(Config{Executor: "podman"}); err == nil || !strings.Contains(err.Error(), "use docker or kube") {
			t.Fatalf("err %v", err)
		}
	})
}
