package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The environment that points tests at a real Kubernetes cluster (.ci/run sets both after
// ../shared/k8s/single-node.sh up).
const (
	// KubeconfigEnv names an admin kubeconfig of a test cluster.
	KubeconfigEnv = "OPENWRT_PPA_TEST_KUBECONFIG"
	// KubeContainerdEnv is the containerd socket of the cluster's node, where test images are
	// imported (default: single-node.sh's /run/k8s-containerd/containerd.sock).
	KubeContainerdEnv     = "OPENWRT_PPA_K8S_CONTAINERD"
	defaultKubeContainerd = "/run/k8s-containerd/containerd.sock"
)

// Kube is a test's handle on the cluster: the client configuration and a namespace of its own
// that enforces the "restricted" Pod Security Standard, removed at cleanup.
type Kube struct {
	Config    *rest.Config
	Client    kubernetes.Interface
	Namespace string
}

// NeedKube returns the cluster named by OPENWRT_PPA_TEST_KUBECONFIG with a fresh namespace, or skips
// (fails under CI) through Missing.
func NeedKube(t testing.TB) *Kube {
	t.Helper()
	path := os.Getenv(KubeconfigEnv)
	if path == "" {
		Missing(t, "Kubernetes cluster", KubeconfigEnv+" is not set (give it an admin kubeconfig; "+
			"`K=DIR ../shared/k8s/single-node.sh up` makes DIR/admin.kubeconfig)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		Missing(t, "Kubernetes cluster", fmt.Sprintf("reading %s: %v", path, err))
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("a Kubernetes client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		Missing(t, "Kubernetes cluster", fmt.Sprintf("the cluster of %s does not answer: %v", path, err))
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "openwrt-ppa-test-" + hex.EncodeToString(b), Labels: map[string]string{
		TestLabel: "1",
		// Every pod the executor makes must pass the strictest standard.
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
	}}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("making namespace %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		bg := metav1.DeletePropagationBackground
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("removing namespace %s: %v", ns.Name, err)
		}
	})
	return &Kube{Config: cfg, Client: cs, Namespace: ns.Name}
}

// KubeStandinImage returns the tag of the SDK stand-in image, built with Docker (StandinImage)
// and imported into the cluster node's containerd with ctr, so the pods find it without a
// registry. Its tag is a content hash, never "latest", so the pull policy IfNotPresent uses it.
func KubeStandinImage(t testing.TB) string {
	t.Helper()
	tag := StandinImage(t)
	if err := importImage(t, tag); err != nil {
		t.Fatalf("importing %s into the cluster: %v", tag, err)
	}
	return tag
}

func importImage(t testing.TB, tag string) error {
	ctr := NeedCommand(t, "ctr")
	addr := os.Getenv(KubeContainerdEnv)
	if addr == "" {
		addr = defaultKubeContainerd
	}
	if _, err := os.Stat(addr); err != nil {
		Missing(t, "the cluster node's containerd", fmt.Sprintf("%s (set %s): %v", addr, KubeContainerdEnv, err))
	}
	ref := tag
	if !strings.Contains(strings.SplitN(ref, "/", 2)[0], ".") {
		ref = "docker.io/" + ref
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, ctr, "--address", addr, "-n", "k8s.io", "images", "ls", "-q", "name=="+ref).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images ls: %v: %s", err, out)
	}
	if strings.TrimSpace(string(out)) == ref {
		return nil
	}
	cli := NeedDocker(t)
	res, err := cli.ImageSave(ctx, []string{tag})
	if err != nil {
		return fmt.Errorf("docker save %s: %w", tag, err)
	}
	defer res.Close()
	file := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, res)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("docker save %s: %w", tag, err)
	}
	if out, err := exec.CommandContext(ctx, ctr, "--address", addr, "-n", "k8s.io", "images", "import", file).CombinedOutput(); err != nil {
		return fmt.Errorf("ctr images import: %v: %s", err, out)
	}
	return nil
}

// ServiceAccountToken makes a ServiceAccount in the test's namespace bound to a Role of rules
// (and nothing else) and returns a token of it, valid for an hour: what a worker pod of that
// account authenticates with. The API server's authorizer learns of the binding a moment later.
func (k *Kube) ServiceAccountToken(t testing.TB, name string, rules []rbacv1.PolicyRule) string {
	t.Helper()
	ctx := context.Background()
	ns := k.Namespace
	if _, err := k.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exp := int64(3600)
	tok, err := k.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("a token of service account %s: %v", name, err)
	}
	return tok.Status.Token
}
