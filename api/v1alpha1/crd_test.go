package v1alpha1_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	v1 "github.com/openwrt-ppa/openwrt-ppa/api/v1alpha1"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

const crdDir = "../../charts/openwrt-ppa/crds"

// toMap turns a typed object into what the dynamic client sends, so the Go types' JSON names are
// checked against the generated schema as a Go client would use them.
func toMap(t *testing.T, obj runtime.Object, apiVersion, kind string) map[string]any {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	m["apiVersion"], m["kind"] = apiVersion, kind
	delete(m, "status") // the status subresource ignores it on create
	return m
}

func validRepository(t *testing.T, apiVersion, name string) map[string]any {
	return toMap(t, &v1.Repository{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.RepositorySpec{
			Source:   v1.RepositorySource{Git: "https://git.example.org/me/feed.git"},
			Branches: []string{"main", "release/*"},
			Series:   []string{"24.10", "snapshot"},
			Archs:    []string{"x86_64", "mipsel_24kc"},
			Packages: []string{"hello", "luci-app-foo"},
		},
	}, apiVersion, "Repository")
}

func validBuild(t *testing.T, apiVersion, name string) map[string]any {
	return toMap(t, &v1.Build{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1.BuildSpec{Repository: "feed", Ref: "main", Force: true},
	}, apiVersion, "Build")
}

func set(path string, v any) func(map[string]any) {
	return func(m map[string]any) {
		keys := strings.Split(path, ".")
		if err := unstructured.SetNestedField(m, v, keys...); err != nil {
			panic(err)
		}
	}
}

func unset(path string) func(map[string]any) {
	return func(m map[string]any) { unstructured.RemoveNestedField(m, strings.Split(path, ".")...) }
}

func TestCRDsOnTheAPIServer(t *testing.T) {
	kube := testenv.NeedKube(t)
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	group := testenv.InstallCRDs(t, dyn, crdDir)
	apiVersion := group + "/v1alpha1"
	repos := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "repositories"}).Namespace(kube.Namespace)
	builds := dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1alpha1", Resource: "builds"}).Namespace(kube.Namespace)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("valid", func(t *testing.T) {
		forge := validRepository(t, apiVersion, "forge")
		set("spec.source", map[string]any{"forge": "gitlab", "fullName": "group/sub/feed"})(forge)
		commit := validBuild(t, apiVersion, "by-commit")
		unset("spec.ref")(commit)
		set("spec.commit", strings.Repeat("ab", 20))(commit)
		for _, c := range []struct {
			client dynamic.ResourceInterface
			obj    map[string]any
		}{
			{repos, validRepository(t, apiVersion, "feed")},
			{repos, forge},
			{builds, validBuild(t, apiVersion, "by-ref")},
			{builds, commit},
		} {
			u := &unstructured.Unstructured{Object: c.obj}
			if _, err := c.client.Create(ctx, u, metav1.CreateOptions{}); err != nil {
				t.Errorf("creating the valid %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		}
	})

	// Each invalid object must be refused by the API server itself, naming what is wrong.
	cases := []struct {
		name   string
		kind   string
		mutate func(map[string]any)
		want   string
	}{
		{"bad series", "Repository", set("spec.series", []any{"24.1"}), `spec.series[0]`},
		{"series word", "Repository", set("spec.series", []any{"latest"}), `should match`},
		{"bad arch", "Repository", set("spec.archs", []any{"X86 64"}), `spec.archs[0]`},
		{"bad package", "Repository", set("spec.packages", []any{"../etc"}), `spec.packages[0]`},
		{"duplicate arch", "Repository", set("spec.archs", []any{"x86_64", "x86_64"}), `Duplicate value`},
		{"both sources", "Repository", set("spec.source.forge", "github"), `exactly one source`},
		{"no source in source", "Repository", set("spec.source", map[string]any{}), `exactly one source`},
		{"source left out", "Repository", unset("spec.source"), `spec.source: Required value`},
		{"forge without fullName", "Repository", set("spec.source", map[string]any{"forge": "github"}), `forge and fullName go together`},
		{"unknown forge", "Repository", set("spec.source", map[string]any{"forge": "bitbucket", "fullName": "a/b"}), `Unsupported value: "bitbucket"`},
		{"fullName not owner/name", "Repository", set("spec.source", map[string]any{"forge": "github", "fullName": "feed"}), `spec.source.fullName`},
		{"file URL", "Repository", set("spec.source.git", "file:///etc/passwd"), `spec.source.git`},
		{"long URL", "Repository", set("spec.source.git", "https://x.org/"+strings.Repeat("a", 2048)), `Too long`},
		{"build without ref or commit", "Build", unset("spec.ref"), `exactly one of ref`},
		{"build with ref and commit", "Build", set("spec.commit", strings.Repeat("a", 40)), `exactly one of ref`},
		{"short commit", "Build", func(m map[string]any) { unset("spec.ref")(m); set("spec.commit", "abc123")(m) }, `spec.commit`},
		{"ref with ..", "Build", set("spec.ref", "a/../b"), `may not contain '..'`},
		{"no repository", "Build", unset("spec.repository"), `spec.repository: Required value`},
		{"repository not a name", "Build", set("spec.repository", "Feed/x"), `spec.repository`},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "bad-" + hex.EncodeToString([]byte{byte(i)})
			obj, client := validRepository(t, apiVersion, name), repos
			if c.kind == "Build" {
				obj, client = validBuild(t, apiVersion, name), builds
			}
			c.mutate(obj)
			_, err := client.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
			if err == nil {
				t.Fatalf("the API server took the invalid %s %v", c.kind, obj["spec"])
			}
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("refused with %v; want an Invalid error containing %q", err, c.want)
			}
		})
	}

	t.Run("status and spec changes", func(t *testing.T) {
		b, err := builds.Get(ctx, "by-ref", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		set("status.phase", "Done")(b.Object)
		if _, err := builds.UpdateStatus(ctx, b, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), `Unsupported value: "Done"`) {
			t.Errorf("status phase Done: got %v, want refused as unsupported", err)
		}
		set("status.phase", "Running")(b.Object)
		set("status.jobs", []any{map[string]any{"series": "24.10", "arch": "x86_64", "state": "Running", "logURL": "https://ppa.example.org/logs/1"}})(b.Object)
		if _, err := builds.UpdateStatus(ctx, b, metav1.UpdateOptions{}); err != nil {
			t.Errorf("a valid status: %v", err)
		}
		b, err = builds.Get(ctx, "by-ref", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		set("spec.ref", "other")(b.Object)
		if _, err := builds.Update(ctx, b, metav1.UpdateOptions{}); err == nil || !strings.Contains(err.Error(), "cannot change") {
			t.Errorf("changing a Build's spec: got %v, want refused", err)
		}
		// A Repository's source is fixed (git → forge kept the old registration); the rest of
		// its spec may change.
		for _, src := range []map[string]any{
			{"git": "https://git.example.org/me/other.git"},
			{"forge": "github", "fullName": "me/feed"},
		} {
			r, err := repos.Get(ctx, "feed", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			set("spec.source", src)(r.Object)
			_, err = repos.Update(ctx, r, metav1.UpdateOptions{})
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.source cannot change: delete this Repository") {
				t.Errorf("changing a Repository's source to %v: got %v, want refused by the API server", src, err)
			}
		}
		r, err := repos.Get(ctx, "feed", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		set("spec.series", []any{"snapshot"})(r.Object)
		if r, err = repos.Update(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("changing a Repository's series: %v", err)
		}
		set("status.conditions", []any{map[string]any{"type": "Ready", "status": "True", "reason": "Published",
			"message": "feeds are up to date", "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}})(r.Object)
		if _, err := repos.UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil {
			t.Errorf("a Ready condition: %v", err)
		}
	})

	// What `kubectl get repositories,builds` prints: the server's Table with the printer columns.
	t.Run("printer columns", func(t *testing.T) {
		for _, c := range []struct {
			resource, row string
			want          map[string]string
		}{
			{"repositories", "feed", map[string]string{"Source": "https://git.example.org/me/feed.git", "Ready": "True"}},
			{"repositories", "forge", map[string]string{"Forge": "gitlab", "Full Name": "group/sub/feed"}},
			{"builds", "by-ref", map[string]string{"Repository": "feed", "Ref": "main", "Phase": "Running"}},
		} {
			raw, err := kube.Client.Discovery().RESTClient().Get().
				AbsPath("/apis", group, "v1alpha1", "namespaces", kube.Namespace, c.resource).
				SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(ctx).Raw()
			if err != nil {
				t.Fatalf("listing %s as a table: %v", c.resource, err)
			}
			var table metav1.Table
			if err := json.Unmarshal(raw, &table); err != nil {
				t.Fatal(err)
			}
			col := map[string]int{}
			for i, d := range table.ColumnDefinitions {
				col[d.Name] = i
			}
			if _, ok := col["Age"]; !ok {
				t.Errorf("%s: no Age column in %v", c.resource, table.ColumnDefinitions)
			}
			found := false
			for _, r := range table.Rows {
				if len(r.Cells) == 0 || r.Cells[0] != c.row {
					continue
				}
				found = true
				for name, want := range c.want {
					i, ok := col[name]
					if !ok {
						t.Errorf("%s: no column %q in %v", c.resource, name, table.ColumnDefinitions)
						continue
					}
					if got, _ := r.Cells[i].(string); got != want {
						t.Errorf("%s %s: column %s = %v, want %q", c.resource, c.row, name, r.Cells[i], want)
					}
				}
			}
			if !found {
				t.Errorf("%s: no row %s in the table", c.resource, c.row)
			}
		}
	})
}
