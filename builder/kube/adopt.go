package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// selector matches the Jobs of this executor (its Labels) that carry the label key, with the
// value when one is given.
func (e *Executor) selector(key, value string) (string, error) {
	set := labels.Set{LabelManaged: ManagedBy}
	for k, v := range e.opts.Labels {
		set[k] = v
	}
	sel := labels.SelectorFromSet(set)
	op, vals := selection.Exists, []string(nil)
	if value != "" {
		op, vals = selection.Equals, []string{value}
	}
	req, err := labels.NewRequirement(key, op, vals)
	if err != nil {
		return "", fmt.Errorf("label %s: %w", key, err)
	}
	return sel.Add(*req).String(), nil
}

// adopt returns a run attached to the Job that an earlier worker left running for spec.JobID,
// when there is one whose build can still be seen to its end: its pod runs and has the whole
// repository. Any other Job of that JobID is deleted (with its pod) and nil returned, so the
// job starts afresh, and only once.
func (e *Executor) adopt(ctx context.Context, spec builder.JobSpec, l builder.Limits) (builder.Run, error) {
	sel, err := e.selector(LabelJob, spec.JobID)
	if err != nil {
		return nil, err
	}
	list, err := e.cs.BatchV1().Jobs(e.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("%w: looking for a build Job of job %s left by another worker: %w", builder.ErrExecutor, spec.JobID, err)
	}
	jobs := list.Items
	sort.Slice(jobs, func(i, j int) bool { return jobs[j].CreationTimestamp.Before(&jobs[i].CreationTimestamp) })
	var found builder.Run
	var errs []error
	for i := range jobs {
		j := &jobs[i]
		if found == nil {
			if r := e.attach(ctx, spec, l, j); r != nil {
				found = r
				continue
			}
		}
		e.opts.Logger.Info("removing a build Job left by another worker", "kube_job", j.Name, "job", spec.JobID)
		if err := e.deleteJob(ctx, j.Name); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if found != nil {
			_ = found.Close(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return found, nil
}

// attach makes a run of an existing Job if its build can be followed, or returns nil.
func (e *Executor) attach(ctx context.Context, spec builder.JobSpec, l builder.Limits, j *batchv1.Job) *run {
	if j.Annotations[annSources] != "in" || j.DeletionTimestamp != nil {
		return nil // the repository may be incomplete, or someone is removing it
	}
	for _, c := range j.Status.Conditions {
		if c.Status == corev1.ConditionTrue && (c.Type == batchv1.JobFailed || c.Type == batchv1.JobComplete) {
			return nil // ended by its deadline: its pod is gone
		}
	}
	if t, err := time.ParseDuration(j.Annotations[annTimeout]); err == nil && t > 0 {
		l.Timeout = t // the limit it was started with
	}
	r := newRun(e, spec, l, j)
	pods, err := e.cs.CoreV1().Pods(e.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: r.podSelector()})
	if err != nil || len(pods.Items) != 1 {
		return nil
	}
	p := &pods.Items[0]
	if ok, _, _ := podStarted(p); !ok || p.DeletionTimestamp != nil {
		return nil
	}
	r.pod = p.Name
	started := j.CreationTimestamp.Time
	if j.Status.StartTime != nil {
		started = j.Status.StartTime.Time
	}
	r.begin(started)
	e.opts.Logger.Info("adopted a build Job left by another worker", "kube_job", j.Name, "pod", p.Name, "job", spec.JobID, "running_for", time.Since(started).Round(time.Second))
	return r
}

// RemoveJobs deletes the build Jobs of this executor (and their pods, running or not) that
// carry the label key and for whose labels remove returns true: for instance those of jobs the
// service no longer runs, whose worker died and which nobody adopted. It returns how many it
// removed; a Job that vanishes meanwhile is no error, and the first failure comes back after
// the rest were tried. Jobs the executor did not make are never touched.
func (e *Executor) RemoveJobs(ctx context.Context, label string, remove func(labels map[string]string) bool) (int, error) {
	if label == "" {
		return 0, errors.New("removing Jobs needs a label key")
	}
	sel, err := e.selector(label, "")
	if err != nil {
		return 0, err
	}
	list, err := e.cs.BatchV1().Jobs(e.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return 0, fmt.Errorf("%w: listing build Jobs labelled %s: %w", builder.ErrExecutor, label, err)
	}
	n := 0
	var errs []error
	for _, j := range list.Items {
		if j.Labels[LabelManaged] != ManagedBy || !remove(j.Labels) {
			continue
		}
		if err := e.deleteJob(ctx, j.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		e.opts.Logger.Info("removed a left-behind build Job", "kube_job", j.Name, label, j.Labels[label])
	}
	return n, errors.Join(errs...)
}

// RemoveJobsOf deletes the build Jobs of this executor made for a JobSpec.JobID for which
// remove returns true (the service's jobs that ended or are gone: nobody will adopt their
// Jobs), as RemoveJobs does. Jobs without a JobID are left alone.
func (e *Executor) RemoveJobsOf(ctx context.Context, remove func(jobID string) bool) (int, error) {
	return e.RemoveJobs(ctx, LabelJob, func(l map[string]string) bool { return remove(l[LabelJob]) })
}
