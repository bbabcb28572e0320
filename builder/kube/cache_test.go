package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestCacheLock: a claim is taken when free, new, or held by a Job that is gone for longer
// than the grace; it is waited for while its holder's Job lives or has only just locked it;
// unlocking clears only one's own hold.
func TestCacheLock(t *testing.T) {
	spec := testSpec()
	spec.CacheScope = "abc"
	probe, _ := fakeExecutor(t, Options{Namespace: "builds", CacheStorageClass: "fast"})
	name := probe.cacheClaim(spec)
	held := func(holder string, since time.Time) *corev1.PersistentVolumeClaim {
		c := probe.claimFor(spec, name, holder)
		c.Annotations[annCacheSince] = since.UTC().Format(time.RFC3339)
		return c
	}
	liveJob := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "owppa-other", Namespace: "builds"}}
	old := time.Now().Add(-2 * cacheTakeGrace)
	cases := []struct {
		name   string
		objs   []runtime.Object
		taken  bool
		errHas string
	}{
		{"new claim", nil, true, ""},
		{"free claim", []runtime.Object{held("", old)}, true, ""},
		{"holder's Job gone", []runtime.Object{held("owppa-dead", old)}, true, ""},
		{"holder's Job lives", []runtime.Object{held("owppa-other", old), liveJob}, false, "which Job owppa-other uses"},
		{"holder just locked it", []runtime.Object{held("owppa-soon", time.Now())}, false, "which Job owppa-soon uses"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, cs := fakeExecutor(t, Options{Namespace: "builds", CacheStorageClass: "fast"}, c.objs...)
			ctx, cancel := context.WithTimeout(context.Background(), 3*pollEvery)
			defer cancel()
			err := e.lockCache(ctx, spec, "owppa-mine")
			if c.taken != (err == nil) || err != nil && !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("lockCache: %v, want taken %v", err, c.taken)
			}
			got, err := cs.CoreV1().PersistentVolumeClaims("builds").Get(context.Background(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if h := got.Annotations[annCacheHolder]; (h == "owppa-mine") != c.taken {
				t.Errorf("holder %q after lockCache", h)
			}
			if sc := got.Spec.StorageClassName; sc == nil || *sc != "fast" || got.Labels[LabelCacheScope] != "abc" {
				t.Errorf("claim class %v labels %v", sc, got.Labels)
			}
			before := got.Annotations[annCacheHolder]
			e.unlockCache(context.Background(), name, "owppa-mine")
			got, _ = cs.CoreV1().PersistentVolumeClaims("builds").Get(context.Background(), name, metav1.GetOptions{})
			want := before
			if c.taken {
				want = ""
			}
			if h := got.Annotations[annCacheHolder]; h != want {
				t.Errorf("holder %q after unlockCache, want %q", h, want)
			}
		})
	}
}

// TestCacheMounts: with a storage class the build sees its scope's claim at dl/ and feeds/,
// the init container seeds it, and the pod's fsGroup makes it writable; without one, no claim.
func TestCacheMounts(t *testing.T) {
	spec := testSpec()
	l := spec.Limits.WithDefaults()
	for _, class := range []string{"", "fast"} {
		e, _ := fakeExecutor(t, Options{Namespace: "builds", CacheStorageClass: class})
		j := e.jobFor(spec, l, "owppa-x")
		p := j.Spec.Template.Spec
		var claims []string
		for _, v := range p.Volumes {
			if v.PersistentVolumeClaim != nil {
				claims = append(claims, v.PersistentVolumeClaim.ClaimName)
			}
		}
		mounts := map[string]string{}
		for _, m := range p.Containers[0].VolumeMounts {
			mounts[m.MountPath] = m.Name + ":" + m.SubPath
		}
		if class == "" {
			if len(claims) > 0 || p.SecurityContext.FSGroup != nil || j.Annotations[annCacheClaim] != "" {
				t.Errorf("no storage class, yet claims %v fsGroup %v", claims, p.SecurityContext.FSGroup)
			}
			continue
		}
		want := e.cacheClaim(spec)
		if len(claims) != 1 || claims[0] != want || j.Annotations[annCacheClaim] != want {
			t.Errorf("claims %v annotation %q, want %s", claims, j.Annotations[annCacheClaim], want)
		}
		if mounts["/builder/dl"] != "cache:dl" || mounts["/builder/feeds"] != "cache:feeds" {
			t.Errorf("build mounts %v", mounts)
		}
		if g := p.SecurityContext.FSGroup; g == nil || *g != buildUID {
			t.Errorf("fsGroup %v, want the build user's", g)
		}
		if cmd := containerNamed(t, p.InitContainers, ctrInit).Command[2]; !strings.Contains(cmd, cacheMount+"/dl") || !strings.Contains(cmd, cacheSeeded) {
			t.Errorf("the init container does not seed the cache: %s", cmd)
		}
		other := spec
		other.CacheScope = "pr"
		if e.cacheClaim(other) == want {
			t.Error("two scopes share a claim")
		}
	}
}
