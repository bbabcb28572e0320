package kube

import (
	"strconv"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// Where the containers of a build pod see its volumes.
const (
	inMount     = "/openwrt-ppa/in"  // the source volume: src/ and the ready marker
	srcDir      = inMount + "/src"   // the repository (OPENWRT_PPA_SRC)
	readyFile   = inMount + "/ready" // written once the repository is complete
	wsCopyMount = "/openwrt-ppa/workspace"
	nonetDir    = "/openwrt-ppa/nonet" // the nonet volume, read-only in the build container
	nonetPath   = nonetDir + "/nonet"

	ctrNonet = "nonet"
	ctrInit  = "workspace"
	ctrIO    = "io"
	ctrBuild = "build"

	fieldManager = "openwrt-ppa"
	// podTimerSlack is how much later than the executor's the pod's own time limit fires.
	podTimerSlack = 5 * time.Second
	buildUID      = int64(1000)
)

// Exit statuses of the build container's PID 1 (buildWrapper) when it stopped the build.
const (
	exitTimeLimit  = 124 // SIGUSR1: the time limit (the executor's timer or the pod's own)
	exitTerminated = 143 // SIGTERM: Cancel, or the pod being deleted
	exitNoSources  = 90  // the repository never arrived
	exitNotPID1    = 92  // the wrapper is not PID 1, so kill(-1) would reach beyond the build
)

// buildWrapper is PID 1 of the build container ($1 is the driver). It waits for the sources,
// then runs the driver's download phase, with the pod's network. SIGUSR1 (the time limit) and
// SIGTERM (cancel, deletion) make it exit, and when PID 1 of a PID namespace exits, the kernel
// kills every other process in it: no process of the build, however it forks or detaches,
// outlives the kill. It keeps a timer of its own, so a build whose worker died still stops at
// its limit.
//
// After the download, kill(-1) from PID 1 ends every other process of the container: nothing
// the download phase left running (outside the filter) can relay for the compile phase. Then
// PID 1 execs nonet, which puts itself under the seccomp filter that refuses every socket but
// AF_UNIX and AF_NETLINK, and execs compileWrapper: from then on every process of the
// container, PID 1 among them, is under the filter (see nonet.go).
//
// The kubelet expands $(VAR) and turns $$ into $ in a container's command, so the scripts use
// neither (PID 1 of a namespace is the process whose parent is outside it: $PPID is 0).
const buildWrapper = waitTraps + seccompFilters + `[ "$PPID" = 0 ] || { echo "openwrt-ppa: the build wrapper is not PID 1 of its container (does the pod share its process namespace?)" >&2; exit 92; }
i=0
until [ -e ` + readyFile + ` ]; do
	i=$((i+1)); if [ "$i" -gt 6000 ]; then echo "openwrt-ppa: the repository never arrived in the pod" >&2; exit 90; fi
	sleep 0.1
done
t0=$(date +%s)
( sleep "$OPENWRT_PPA_TIMEOUT"; kill -USR1 1 ) &
OPENWRT_PPA_PHASE=fetch sh -c "$1" &
wait $!
rc=$?
[ "$rc" = 0 ] || exit "$rc"
kill -KILL -1 2>/dev/null
left=$((OPENWRT_PPA_TIMEOUT - $(date +%s) + t0))
[ "$left" -gt 0 ] || left=1
exec ` + nonetPath + ` /bin/sh -c "$2" openwrt-ppa-compile "$1" "$left" "$(seccomp_filters)"
`

// compileWrapper is PID 1 of the build container under nonet ($1 the driver, $2 the seconds
// left of the time limit, $3 the seccomp filters before nonet). It makes sure it is under
// one filter more than before (Linux 5.9 and later say how many), then runs the driver's
// check and compile phase. Its status 91 is exitNoFilter (nonet's own when it fails).
const compileWrapper = waitTraps + seccompFilters + `n=$(seccomp_filters)
if [ -z "$3" ] || [ -z "$n" ] || [ "$n" -le "$3" ]; then
	echo "openwrt-ppa: the compile phase is not under nonet's seccomp filter (Seccomp_filters ${3:-unknown} before, ${n:-unknown} under it; a kernel before Linux 5.9 does not report them): not compiling with the network; run the build on a node with a newer kernel" >&2
	exit 91
fi
echo "::openwrt-ppa:: phase build: no network (only Unix and netlink sockets)"
( sleep "$2"; kill -USR1 1 ) &
OPENWRT_PPA_PHASE=build sh -c "$1" &
wait $!
`

// waitTraps end PID 1 (and with it the container) on the time limit and on cancel.
const waitTraps = `trap 'echo "::openwrt-ppa:: killed at the time limit"; exit 124' USR1
trap 'echo "::openwrt-ppa:: stopped"; exit 143' TERM INT
`

// seccompFilters defines seccomp_filters, the number of seccomp filters over the shell.
const seccompFilters = `seccomp_filters() { while read -r k v; do [ "$k" = Seccomp_filters: ] && echo "$v"; done < /proc/self/status; }
`

// ioScript keeps the io container (and with it the pod) alive for exec until the Job is
// deleted; its deadline ends it otherwise.
const ioScript = `trap 'exit 0' TERM INT; sleep 2147483647 & wait`

// masterServiceEnv are the variables of the "kubernetes" service, which enableServiceLinks
// false does not leave out.
var masterServiceEnv = []string{"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "KUBERNETES_SERVICE_PORT_HTTPS",
	"KUBERNETES_PORT", "KUBERNETES_PORT_443_TCP", "KUBERNETES_PORT_443_TCP_PROTO", "KUBERNETES_PORT_443_TCP_PORT", "KUBERNETES_PORT_443_TCP_ADDR"}

func metav1CreateOptions() metav1.CreateOptions {
	return metav1.CreateOptions{FieldManager: fieldManager}
}

// labelsFor are the labels of a job's Job and pod.
func (e *Executor) labelsFor(spec builder.JobSpec) map[string]string {
	l := map[string]string{
		LabelManaged:    ManagedBy,
		LabelComponent:  "build",
		LabelRepository: labelValue(spec.Job.Repo),
		LabelSeries:     labelValue(spec.Job.Series),
		LabelArch:       labelValue(spec.Job.Arch),
		LabelJobKey:     labelValue(spec.Job.Key[:min(32, len(spec.Job.Key))]),
	}
	if spec.BuildID != "" {
		l[LabelBuild] = spec.BuildID
	}
	if spec.JobID != "" {
		l[LabelJob] = spec.JobID
	}
	for k, v := range e.opts.Labels {
		l[k] = v
	}
	for k, v := range l {
		if v == "" {
			delete(l, k)
		}
	}
	return l
}

// labelValue makes s a valid label value: characters other than [A-Za-z0-9._-] become '_',
// at most 63, starting and ending with a letter or digit ("" when none is left). The full
// value goes into an annotation where it matters.
func labelValue(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' }
	out := b
	if len(out) > validation.LabelValueMaxLength {
		out = out[:validation.LabelValueMaxLength]
	}
	for len(out) > 0 && !isAlnum(out[0]) {
		out = out[1:]
	}
	for len(out) > 0 && !isAlnum(out[len(out)-1]) {
		out = out[:len(out)-1]
	}
	return string(out)
}

func validLabelValue(v string) bool { return len(validation.IsValidLabelValue(v)) == 0 }
func validLabelKey(k string) bool   { return len(validation.IsQualifiedName(k)) == 0 }

// deadline is the Job's activeDeadlineSeconds: the build's time limit, with the time to start
// before it and to collect the outputs after it.
func (e *Executor) deadline(l builder.Limits) int64 {
	return int64((e.opts.StartTimeout + l.Timeout + e.opts.CollectGrace + time.Second - 1) / time.Second)
}

// jobFor is the Job of one build job.
func (e *Executor) jobFor(spec builder.JobSpec, l builder.Limits, name string) *batchv1.Job {
	labels := e.labelsFor(spec)
	wd := e.opts.WorkDir
	limits := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(l.NanoCPUs/1e6, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(l.MemoryBytes, resource.BinarySI),
	}
	requests := limits.DeepCopy()
	if q := e.opts.CPURequest; q != nil && q.Cmp(limits[corev1.ResourceCPU]) < 0 {
		requests[corev1.ResourceCPU] = *q
	}
	if q := e.opts.MemoryRequest; q != nil && q.Cmp(limits[corev1.ResourceMemory]) < 0 {
		requests[corev1.ResourceMemory] = *q
	}
	medium := corev1.StorageMedium(e.opts.WorkspaceMedium)
	wsSize := resource.NewQuantity(l.WorkspaceSize, resource.BinarySI)
	inBytes := e.opts.SourceBytes + 64<<20
	if e.opts.FeedMirror != nil {
		inBytes += e.opts.FeedMirrorBytes
	}
	inSize := resource.NewQuantity(inBytes, resource.BinarySI)
	volumes := []corev1.Volume{
		{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: medium, SizeLimit: wsSize}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: medium, SizeLimit: wsSize}}},
		{Name: "in", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: inSize}}},
		{Name: "nonet", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: resource.NewQuantity(1<<20, resource.BinarySI)}}},
	}
	// The pod's own timer is for a build nobody watches any more: a little later than the
	// executor's, which comes first while it lives.
	env := []corev1.EnvVar{{Name: "OPENWRT_PPA_TIMEOUT", Value: strconv.FormatInt(int64((l.Timeout+podTimerSlack+time.Second-1)/time.Second), 10)}}
	for _, kv := range builder.DriverEnv(spec, l, srcDir, "fetch") {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	// The kubelet always puts the API server's address in, even with service links off; the
	// build has no use for it.
	for _, k := range masterServiceEnv {
		env = append(env, corev1.EnvVar{Name: k, Value: ""})
	}
	if e.opts.GitHubFeeds {
		env = append(env, corev1.EnvVar{Name: "OPENWRT_PPA_GITHUB_FEEDS", Value: "1"})
	}
	if e.opts.FeedMirror != nil {
		// Feeds the executor did not stream in (none pinned) are not there: the driver clones those.
		env = append(env, corev1.EnvVar{Name: "OPENWRT_PPA_FEED_MIRROR", Value: feedMirrorDir})
	}
	initCmd := "cp -a " + wd + "/. " + wsCopyMount + "/"
	initMounts := []corev1.VolumeMount{{Name: "workspace", MountPath: wsCopyMount}}
	buildMounts := []corev1.VolumeMount{
		{Name: "workspace", MountPath: wd},
		{Name: "tmp", MountPath: "/tmp"},
		{Name: "in", MountPath: inMount, ReadOnly: true},
		{Name: "nonet", MountPath: nonetDir, ReadOnly: true},
	}
	podSecurity := &corev1.PodSecurityContext{
		RunAsUser: ptr(buildUID), RunAsGroup: ptr(buildUID), RunAsNonRoot: ptr(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	annotations := map[string]string{
		annRepository: spec.Job.Repo, annJobKey: spec.Job.Key, annWorkdir: wd,
		annTimeout: l.Timeout.String(),
	}
	if claim := e.cacheClaim(spec); claim != "" {
		volumes = append(volumes, corev1.Volume{Name: "cache", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
		initCmd += cacheInit(wd)
		initMounts = append(initMounts, corev1.VolumeMount{Name: "cache", MountPath: cacheMount})
		buildMounts = append(buildMounts,
			corev1.VolumeMount{Name: "cache", MountPath: wd + "/dl", SubPath: "dl"},
			corev1.VolumeMount{Name: "cache", MountPath: wd + "/feeds", SubPath: "feeds"})
		// A new claim's root is the storage's (often root's): the group makes it the build's.
		podSecurity.FSGroup = ptr(buildUID)
		podSecurity.FSGroupChangePolicy = ptr(corev1.FSGroupChangeOnRootMismatch)
		annotations[annCacheClaim] = claim
	}
	pull := corev1.PullPolicy(e.opts.ImagePullPolicy)
	if spec.Job.MovingImage() && pull == corev1.PullIfNotPresent {
		// A snapshot tag is re-pushed daily: the kubelet then compares digests and downloads
		// only what changed. Never stays never (images loaded by hand).
		pull = corev1.PullAlways
	}
	small := corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
	}
	pod := corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		ServiceAccountName:            e.opts.ServiceAccount,
		TerminationGracePeriodSeconds: ptr(int64(5)),
		NodeSelector:                  e.opts.NodeSelector,
		PriorityClassName:             e.opts.PriorityClass,
		SecurityContext:               podSecurity,
		Volumes:                       volumes,
		InitContainers: []corev1.Container{{
			Name: ctrNonet, Image: spec.Job.Image, ImagePullPolicy: pull,
			Command:         []string{"/bin/sh", "-c", nonetWrite(nonetPath)},
			VolumeMounts:    []corev1.VolumeMount{{Name: "nonet", MountPath: nonetDir}},
			Resources:       small,
			SecurityContext: containerSecurity(),
		}, {
			Name: ctrInit, Image: spec.Job.Image, ImagePullPolicy: pull,
			// The image's work dir (its VOLUME, filled from the image) holds the SDK; the
			// workspace that replaces it in the build starts as a copy.
			Command:         []string{"/bin/sh", "-c", initCmd},
			VolumeMounts:    initMounts,
			Resources:       corev1.ResourceRequirements{Limits: limits, Requests: requests},
			SecurityContext: containerSecurity(),
		}},
		Containers: []corev1.Container{
			{
				Name: ctrBuild, Image: spec.Job.Image, ImagePullPolicy: pull, WorkingDir: wd,
				Command:         []string{"/bin/sh", "-c", buildWrapper, "openwrt-ppa-build", builder.DriverScript(), compileWrapper},
				Env:             env,
				VolumeMounts:    buildMounts,
				Resources:       corev1.ResourceRequirements{Limits: limits, Requests: requests},
				SecurityContext: containerSecurity(),
			},
			{
				Name: ctrIO, Image: spec.Job.Image, ImagePullPolicy: pull, WorkingDir: "/",
				Command: []string{"/bin/sh", "-c", ioScript},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "in", MountPath: inMount},
					{Name: "workspace", MountPath: wd, ReadOnly: true},
				},
				Resources:       small,
				SecurityContext: containerSecurity(),
			},
		},
	}
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: e.opts.Namespace, Labels: labels,
			Annotations: annotations,
		},
		Spec: batchv1.JobSpec{
			Parallelism:             ptr(int32(1)),
			Completions:             ptr(int32(1)),
			BackoffLimit:            ptr(int32(0)),
			ActiveDeadlineSeconds:   ptr(e.deadline(l)),
			TTLSecondsAfterFinished: ptr(int32(e.opts.TTLAfterFinished / time.Second)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       pod,
			},
		},
	}
}

// containerSecurity is every container's: the Pod Security Standard "restricted", and a
// read-only root filesystem (the build writes only its size-limited volumes).
func containerSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser: ptr(buildUID), RunAsGroup: ptr(buildUID), RunAsNonRoot: ptr(true),
		AllowPrivilegeEscalation: ptr(false), Privileged: ptr(false), ReadOnlyRootFilesystem: ptr(true),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func ptr[T any](v T) *T { return &v }
