package kube

// The SDK caches on claims, on the real cluster. It has no storage provisioner, so the test
// plays the operator of statically provisioned storage: a StorageClass with no provisioner and
// "local" PersistentVolumes of it on host folders, which the executor's claims bind to.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// localStorage makes the StorageClass class of n local PersistentVolumes on host folders (root-owned
// and 0755, as a provisioner leaves them) and returns the folders; all of it is removed at the
// end of the test. Claims bind when their first pod is scheduled.
func localStorage(t *testing.T, k *testenv.Kube, class string, n int) []string {
	t.Helper()
	ctx := context.Background()
	nodes, err := k.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		t.Fatalf("listing the nodes: %v (%d)", err, len(nodes.Items))
	}
	node := nodes.Items[0].Name
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	_, err = k.Client.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: class, Labels: map[string]string{testenv.TestLabel: "1"}},
		Provisioner: "kubernetes.io/no-provisioner", VolumeBindingMode: &wait,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = k.Client.StorageV1().StorageClasses().Delete(context.Background(), class, metav1.DeleteOptions{})
	})
	var dirs []string
	for i := range n {
		dir, err := os.MkdirTemp("", "owppa-kube-cache-")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.RemoveAll(dir) })
		dirs = append(dirs, dir)
		name := class + "-" + string(rune('a'+i))
		_, err = k.Client.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{testenv.TestLabel: "1"}},
			Spec: corev1.PersistentVolumeSpec{
				StorageClassName: class, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
				NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
					MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
				}}}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A volume still bound when this runs goes once the namespace's removal took its claim.
		t.Cleanup(func() {
			_ = k.Client.CoreV1().PersistentVolumes().Delete(context.Background(), name, metav1.DeleteOptions{})
		})
	}
	return dirs
}

// TestCachesOnClaims: with a storage class, a scope's second build finds the first one's
// downloads on its claim, another scope gets a claim of its own and downloads afresh, the
// build user writes the (root-owned) volume through the pod's fsGroup, and no claim stays
// locked once its builds ended.
func TestCachesOnClaims(t *testing.T) {
	class := "owppa-test-cache-" + randomHex(4)
	e := newEnv(t, func(o *Options) {
		o.CacheStorageClass = class
		o.CacheSize = resource.NewQuantity(512<<20, resource.BinarySI)
	})
	k := e.k
	dirs := localStorage(t, k, class, 2)
	dir := repoDir(t, map[string]string{"cached": ""})
	build := func(scope string) string {
		t.Helper()
		res, log, _ := e.exec(t, builder.JobSpec{Job: e.job(t, dir), SourceDir: dir, CacheScope: scope,
			Limits: builder.Limits{Timeout: 2 * time.Minute, WorkspaceSize: 64 << 20, MemoryBytes: 512 << 20}})
		if res.Status != builder.JobSucceeded {
			t.Fatalf("scope %s: status %s (%s)\n%s\n%s", scope, res.Status, res.Message, log.text(), e.slog.String())
		}
		return log.text()
	}
	const fresh, cached = "downloading cached-1.0.tar.gz", "dl/cached-1.0.tar.gz: using the cached download"
	for i, c := range []struct{ scope, want string }{{"repoa", fresh}, {"repoa", cached}, {"repob", fresh}} {
		if text := build(c.scope); !strings.Contains(text, c.want) {
			t.Errorf("build %d (scope %s) does not say %q:\n%s", i+1, c.scope, c.want, text)
		}
	}

	claims, err := k.Client.CoreV1().PersistentVolumeClaims(k.Namespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scopes := map[string]string{}
	for _, c := range claims.Items {
		scopes[c.Labels[LabelCacheScope]] = c.Spec.VolumeName
		if h := c.Annotations[annCacheHolder]; h != "" {
			t.Errorf("claim %s is still held by %s", c.Name, h)
		}
	}
	if len(claims.Items) != 2 || scopes["repoa"] == "" || scopes["repob"] == "" || scopes["repoa"] == scopes["repob"] {
		t.Errorf("claims by scope (bound volume) %v, want repoa and repob on volumes of their own", scopes)
	}
	// Each scope's download lies on its own volume, written by the build user.
	for _, d := range dirs {
		fi, err := os.Stat(filepath.Join(d, "dl", "cached-1.0.tar.gz"))
		if err != nil {
			t.Errorf("volume %s holds no download: %v", d, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "feeds")); err != nil {
			t.Errorf("volume %s has no feeds folder: %v", d, err)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != uint32(buildUID) {
			uid := -1
			if ok {
				uid = int(st.Uid)
			}
			t.Errorf("the download on %s belongs to uid %d, want the build user", d, uid)
		}
	}
}
