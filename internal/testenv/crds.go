package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// crdGroup is the custom resources' API group (api/v1alpha1.GroupName; testenv imports no
// layer above internal).
const crdGroup = "ppa.openwrt.org"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// readCRDs reads the chart's CRD manifests as the API server gets them from `kubectl apply`.
func readCRDs(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRD manifests in %s (run `make generate`): %v", dir, err)
	}
	var crds []*unstructured.Unstructured
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := utilyaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		crds = append(crds, &unstructured.Unstructured{Object: obj})
	}
	return crds
}

// InstallCRDs installs the chart's CRDs under a group of the test's own, so parallel runs and
// the real ppa.openwrt.org CRDs of the shared cluster are never touched, and removes them after.
func InstallCRDs(t testing.TB, dyn dynamic.Interface, dir string) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	group := "crd-" + hex.EncodeToString(b) + ".test." + crdGroup
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, crd := range readCRDs(t, dir) {
		plural, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "plural")
		if plural == "" {
			t.Fatalf("CRD %s has no plural name", crd.GetName())
		}
		if err := unstructured.SetNestedField(crd.Object, group, "spec", "group"); err != nil {
			t.Fatal(err)
		}
		// Short names are cluster-wide too: two groups may not both claim "ppa".
		unstructured.RemoveNestedField(crd.Object, "spec", "names", "shortNames")
		crd.SetName(plural + "." + group)
		if _, err := dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatalf("installing CRD %s: %v", crd.GetName(), err)
		}
		name := crd.GetName()
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, v := range versions {
				vm, _ := v.(map[string]any)
				ReleaseFinalizers(ctx, dyn, schema.GroupVersionResource{Group: group, Version: fmt.Sprint(vm["name"]), Resource: plural})
			}
			if err := dyn.Resource(crdGVR).Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing CRD %s: %v", name, err)
			}
		})
		waitEstablished(ctx, t, dyn, name)
	}
	return group
}

// ReleaseFinalizers lets go of the objects of a resource that still hold a finalizer:
// a test that stopped its controller before deleting them (or failed first) leaves them, and
// they would hold the CRD and the test's namespace in Terminating for ever.
func ReleaseFinalizers(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource) {
	list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, o := range list.Items {
		if len(o.GetFinalizers()) > 0 {
			_, _ = dyn.Resource(gvr).Namespace(o.GetNamespace()).Patch(ctx, o.GetName(), types.MergePatchType,
				[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
		}
	}
}

func waitEstablished(ctx context.Context, t testing.TB, dyn dynamic.Interface, name string) {
	t.Helper()
	for {
		got, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("reading CRD %s: %v", name, err)
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("CRD %s not Established: %v", name, conds)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
