package kube

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// The SDK caches on claims (Options.CacheStorageClass): one PersistentVolumeClaim per cache
// scope, series and arch, holding dl/ and feeds/ as the Docker executor's two cache volumes do.
// A claim is used by one build at a time: two builds updating the same feeds checkouts break
// them, and ReadWriteOnce (all most storage offers) does not stop two pods on one node. The
// lock is the claim itself: its holder annotation names the Job using it, set and cleared by
// updates that the API server refuses when someone else changed the claim in between, so it
// holds across workers with no Lease (and no more RBAC than the claim needs). A holder whose
// Job no longer exists (its worker died before making it, or the Job was removed) holds nothing.
const (
	annCacheHolder = "openwrt-ppa.cache-holder" // on the claim: the Job that uses it now
	annCacheSince  = "openwrt-ppa.cache-since"  // on the claim: when the holder took it (RFC 3339)
	annCacheClaim  = "openwrt-ppa.cache-claim"  // on the Job: its claim, for Close after adoption
	// cacheTakeGrace is how long a holder may be without its Job: the Job is made just after
	// the claim is locked.
	cacheTakeGrace = time.Minute
	// LabelCacheScope is on each cache claim: the job's CacheScope ("shared" for the empty one).
	LabelCacheScope = "openwrt-ppa.cache-scope"
	cacheMount      = "/openwrt-ppa/cache" // where the init container sees the claim
	cacheSeeded     = cacheMount + "/.seeded"
	// DefaultCacheSize is a cache claim's request when Options.CacheSize is not set: the
	// downloads and feeds of one (series, arch) of one repository.
	DefaultCacheSize = 10 << 30
)

// CachePermissions are what caches on claims need beyond Permissions: the claims are found
// (get), made on first use (create) and locked and unlocked (update).
var CachePermissions = []Permission{
	{Resource: "persistentvolumeclaims", Verbs: []string{"get", "create", "update"}},
}

// cacheClaim is the claim of a job's caches ("" without Options.CacheStorageClass). Its name
// is a digest (series and arch can be long; the scope is a digest already); its labels say
// what it holds.
func (e *Executor) cacheClaim(spec builder.JobSpec) string {
	if e.opts.CacheStorageClass == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(spec.CacheScope + "\x00" + spec.Job.Series + "\x00" + spec.Job.Arch))
	return "owppa-cache-" + hex.EncodeToString(sum[:])[:24]
}

// claimFor is the claim cacheClaim names, as lockCache makes it.
func (e *Executor) claimFor(spec builder.JobSpec, name, holder string) *corev1.PersistentVolumeClaim {
	scope := spec.CacheScope
	if scope == "" {
		scope = "shared"
	}
	labels := map[string]string{LabelManaged: ManagedBy, LabelComponent: "cache", LabelCacheScope: scope,
		LabelSeries: labelValue(spec.Job.Series), LabelArch: labelValue(spec.Job.Arch)}
	for k, v := range e.opts.Labels {
		labels[k] = v
	}
	class := e.opts.CacheStorageClass
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.opts.Namespace, Labels: labels,
			Annotations: map[string]string{annCacheHolder: holder, annCacheSince: time.Now().UTC().Format(time.RFC3339)}},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: *e.opts.CacheSize}},
		},
	}
}

// lockCache makes the job's cache claim holder-annotated with job, creating the claim on
// first use, and waits (until ctx ends) while another live Job holds it.
func (e *Executor) lockCache(ctx context.Context, spec builder.JobSpec, job string) error {
	name := e.cacheClaim(spec)
	pvcs := e.cs.CoreV1().PersistentVolumeClaims(e.opts.Namespace)
	said := ""
	for {
		c, err := pvcs.Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			_, err = pvcs.Create(ctx, e.claimFor(spec, name, job), createOpts)
			if err == nil {
				e.opts.Logger.Info("made a cache claim", "claim", name, "scope", spec.CacheScope, "series", spec.Job.Series, "arch", spec.Job.Arch, "storage_class", e.opts.CacheStorageClass)
				return nil
			}
			if !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("%w: making the cache claim %s (storage class %s): %w", builder.ErrExecutor, name, e.opts.CacheStorageClass, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("%w: reading the cache claim %s: %w", builder.ErrExecutor, name, err)
		}
		holder := c.Annotations[annCacheHolder]
		if holder == "" || holder == job || e.holderGone(ctx, c) {
			if c.Annotations == nil {
				c.Annotations = map[string]string{}
			}
			c.Annotations[annCacheHolder] = job
			c.Annotations[annCacheSince] = time.Now().UTC().Format(time.RFC3339)
			_, err := pvcs.Update(ctx, c, metav1.UpdateOptions{FieldManager: fieldManager})
			if err == nil {
				return nil
			}
			if !apierrors.IsConflict(err) {
				return fmt.Errorf("%w: locking the cache claim %s: %w", builder.ErrExecutor, name, err)
			}
			continue // changed in between: look again
		}
		if said != holder {
			e.opts.Logger.Info("waiting for the cache claim another build uses", "claim", name, "holder", holder, "job", spec.Job.Name())
			said = holder
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the cache claim %s, which Job %s uses: %w", name, holder, ctx.Err())
		case <-time.After(2 * pollEvery):
		}
	}
}

// holderGone reports whether the claim's holder holds nothing: it took the claim more than
// cacheTakeGrace ago and its Job does not exist (an API error is not that).
func (e *Executor) holderGone(ctx context.Context, c *corev1.PersistentVolumeClaim) bool {
	if since, err := time.Parse(time.RFC3339, c.Annotations[annCacheSince]); err == nil && time.Since(since) < cacheTakeGrace {
		return false
	}
	_, err := e.cs.BatchV1().Jobs(e.opts.Namespace).Get(ctx, c.Annotations[annCacheHolder], metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}

// unlockCache clears the claim's holder if it is still job. A failure only costs the next
// build a look at the (then deleted) Job.
func (e *Executor) unlockCache(ctx context.Context, name, job string) {
	pvcs := e.cs.CoreV1().PersistentVolumeClaims(e.opts.Namespace)
	for range 5 {
		c, err := pvcs.Get(ctx, name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			e.opts.Logger.Warn("could not unlock a cache claim", "claim", name, "kube_job", job, "err", err)
		}
		if err != nil || c.Annotations[annCacheHolder] != job {
			return
		}
		delete(c.Annotations, annCacheHolder)
		delete(c.Annotations, annCacheSince)
		if _, err = pvcs.Update(ctx, c, metav1.UpdateOptions{FieldManager: fieldManager}); !apierrors.IsConflict(err) {
			if err != nil {
				e.opts.Logger.Warn("could not unlock a cache claim", "claim", name, "kube_job", job, "err", err)
			}
			return
		}
	}
}

// cacheInit is what the init container adds when the job has a cache claim: the dl/ and
// feeds/ folders on it, seeded once from the image's own (as Docker fills a new volume from
// the image), writable by the build user through the pod's fsGroup.
func cacheInit(wd string) string {
	return ` && mkdir -p ` + cacheMount + `/dl ` + cacheMount + `/feeds && if [ ! -e ` + cacheSeeded + ` ]; then ` +
		`{ [ ! -d ` + wd + `/dl ] || cp -a ` + wd + `/dl/. ` + cacheMount + `/dl/; } && ` +
		`{ [ ! -d ` + wd + `/feeds ] || cp -a ` + wd + `/feeds/. ` + cacheMount + `/feeds/; } && touch ` + cacheSeeded + `; fi`
}
