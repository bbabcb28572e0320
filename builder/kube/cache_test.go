package kube

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
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

// TestCloseUnlocksTheClaim: Close releases the job's cache claim when its Job is gone, and
// also when the Job could not be deleted but its build ended or never began (saying so in the
// log); a Job whose build may still run keeps it.
func TestCloseUnlocksTheClaim(t *testing.T) {
	spec := testSpec()
	spec.CacheScope = "abc"
	cases := []struct {
		name       string
		deleteErr  bool
		begun      bool
		ended      bool
		wantLocked bool
		wantLog    []string
	}{
		{name: "Job deleted", begun: true, ended: true},
		{name: "deletion refused, build ended", deleteErr: true, begun: true, ended: true, wantLog: []string{"could not delete a build Job", "no delete today"}},
		{name: "deletion refused, never begun", deleteErr: true, wantLog: []string{"could not delete a build Job"}},
		{name: "deletion refused, build may still run", deleteErr: true, begun: true, wantLocked: true,
			wantLog: []string{"could not delete a build Job", "its cache claim stays locked until the Job is gone"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs testenv.SyncBuffer
			job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: "owppa-mine", Namespace: "builds"}}
			e, cs := fakeExecutor(t, Options{Namespace: "builds", CacheStorageClass: "fast", Logger: slog.New(slog.NewTextHandler(&logs, nil))}, job)
			if c.deleteErr {
				cs.PrependReactor("delete", "jobs", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, errors.New("no delete today")
				})
			}
			ctx := context.Background()
			if err := e.lockCache(ctx, spec, job.Name); err != nil {
				t.Fatal(err)
			}
			job.Annotations = map[string]string{annCacheClaim: e.cacheClaim(spec)}
			r := newRun(e, spec, spec.Limits, job)
			if c.begun {
				r.started = time.Now()
			}
			if c.ended {
				close(r.waitDone)
			}
			if err := r.Close(ctx); (err != nil) != c.deleteErr {
				t.Errorf("Close: %v, want an error: %v", err, c.deleteErr)
			}
			got, err := cs.CoreV1().PersistentVolumeClaims("builds").Get(ctx, e.cacheClaim(spec), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if locked := got.Annotations[annCacheHolder] == job.Name; locked != c.wantLocked {
				t.Errorf("claim locked %v after Close, want %v", locked, c.wantLocked)
			}
			for _, w := range c.wantLog {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("the log lacks %q:\n%s", w, logs.String())
				}
			}
		})
	}
}
