package kubeapi

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/openwrt-ppa/openwrt-ppa/internal/store/sqlite"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestLeaderElectionOnCluster: two replicas of the controller on one store and namespace; one
// leads and registers a Repository once, the other waits; the leader stopped, the other takes
// over within the lease and serves the next Repository.
func TestLeaderElectionOnCluster(t *testing.T) {
	k := testenv.NeedKube(t)
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	group := testenv.InstallCRDs(t, dyn, "../../charts/openwrt-ppa/crds")
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	b := &fakeBackend{st: db}
	type replica struct {
		c    *Controller
		stop context.CancelFunc
		done chan error
		log  *testenv.SyncBuffer
	}
	start := func() replica {
		log := &testenv.SyncBuffer{}
		c, err := New(Options{Config: k.Config, Namespace: k.Namespace, Group: group, LeaseDuration: 3 * time.Second,
			Resync: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(log, nil))}, db, b)
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		r := replica{c: c, stop: stop, done: make(chan error, 1), log: log}
		go func() { r.done <- c.Run(ctx) }()
		return r
	}
	rs := []replica{start(), start()}
	stopped := map[int]bool{}
	defer func() {
		for i, r := range rs {
			if !stopped[i] {
				r.stop()
				<-r.done
			}
		}
	}()
	leader := -1
	select {
	case <-rs[0].c.Elected():
		leader = 0
	case <-rs[1].c.Elected():
		leader = 1
	case <-time.After(time.Minute):
		t.Fatal("no replica was elected within a minute")
	}
	other := 1 - leader
	select {
	case <-rs[other].c.Elected():
		t.Fatal("both replicas lead")
	case <-time.After(2 * time.Second):
	}

	res := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "repositories"}).Namespace(k.Namespace)
	apply := func(name string) {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": group + "/v1alpha1", "kind": "Repository", "metadata": map[string]any{"name": name},
			"spec": map[string]any{"source": map[string]any{"git": "https://git.example/carol/" + name + ".git"}}}}
		if _, err := res.Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitRegistered := func(n int) {
		deadline := time.Now().Add(time.Minute)
		for len(b.registrations()) < n && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Second) // a second registration, if any, would show by now
		if got := b.registrations(); len(got) != n {
			t.Fatalf("registered %v, want %d", got, n)
		}
	}
	apply("one")
	waitRegistered(1)

	rs[leader].stop()
	<-rs[leader].done
	stopped[leader] = true
	// Handing the lease back on a clean stop is no error (controller-runtime#3535 logs one).
	for l := range strings.Lines(rs[leader].log.String()) {
		if strings.Contains(l, "level=ERROR") {
			t.Errorf("the leader's clean stop logged an error: %s", l)
		}
	}
	select {
	case <-rs[other].c.Elected():
	case <-time.After(30 * time.Second):
		t.Fatal("the other replica did not take over within 30 s")
	}
	apply("two")
	waitRegistered(2)
}
