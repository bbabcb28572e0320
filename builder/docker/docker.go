// Package docker is the builder.Executor that runs each job in a container of the Docker Engine
// API (the moby client): the SDK image, the repository mounted read-only as the feed source,
// user 1000, no capabilities, no-new-privileges, memory/CPU/pid limits, a wall-clock limit, a
// configurable network and named cache volumes for dl/ and feeds/ per (series, arch).
package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/builder/feedmirror"
)

var _ builder.Executor = (*Executor)(nil)

// Labels on what the executor makes, so operators (and tests) can find leftovers.
const (
	LabelJob    = "openwrt-ppa.job"
	LabelCache  = "openwrt-ppa.cache"
	LabelSeries = "openwrt-ppa.series"
	LabelArch   = "openwrt-ppa.arch"
	LabelImage  = "openwrt-ppa.image"
	srcMount    = "/openwrt-ppa/src"
	// feedMirrorMount holds the mirrored standard feeds, one read-only bind mount each.
	feedMirrorMount = "/openwrt-ppa/feedmirror"
)

// Options configure the executor. The zero value is usable.
type Options struct {
	// Network is the build containers' network mode: "bridge" (default; downloads need it),
	// "none", or a user-defined network that only reaches a download proxy.
	Network string
	// CachePrefix names the cache volumes "<prefix>-<series>-<arch>-dl|feeds" (default "openwrt-ppa-cache").
	CachePrefix string
	// Labels are added to every container and volume made (tests mark theirs).
	Labels map[string]string
	// Workspace is where each job's workspace (the SDK's work dir, where the build writes) lives,
	// capped at Limits.WorkspaceSize: WorkspaceDisk, WorkspaceTmpfs, WorkspaceVolume (no cap) or
	// WorkspaceAuto (default: disk where loop devices work, else volume).
	Workspace string
	// DiskDir holds the disk workspaces' files (default: openwrt-ppa-workspaces in the temp
	// folder); the service gives DATA/workspaces. It must be on the engine's host.
	DiskDir string
	// TmpfsBuildDir mounts a size-limited tmpfs (Limits.WorkspaceSize) on the SDK's build_dir.
	// Tests and the stand-in use it. Release SDK images ship files in build_dir, so production
	// leaves it off and caps the disk with RootfsSize instead.
	TmpfsBuildDir bool
	// RootfsSize caps the container's writable layer ("20G"), not the workspace (see
	// Workspace), where the build writes: Docker's storage option "size",
	// which needs overlay2 on XFS with project quotas (or devicemapper/btrfs/zfs); on ext4 the
	// engine refuses it. Alternatively run dockerd with its data-root on a loop-mounted
	// filesystem image of fixed size. Empty: no cap beyond the host's disk.
	RootfsSize string
	// Runtime selects an OCI runtime (e.g. "runsc" for gVisor); empty: the engine's default.
	Runtime string
	// GitHubFeeds fetches the standard feeds from github.com/openwrt instead of git.openwrt.org,
	// as gh-action-sdk does (the GitHub mirrors are faster and better connected).
	GitHubFeeds bool
	// FeedMirror, when set, keeps the standard feeds the image's feeds.conf.default pins; each
	// build gets them bind-mounted read-only and as src-link feeds, so feeds need no network
	// and no clone per cache volume. The engine must see the mirror's folder (a local engine).
	FeedMirror *feedmirror.Mirror
	// Pull lets the executor pull an image that is not present (production); tests build theirs.
	Pull bool
	// RefreshPeriod is how long a pulled image of a moving tag (builder.Job.MovingImage: the
	// snapshot series) is used before it is pulled again (default 1 hour); the engine then
	// downloads only the manifest when the image has not changed. Release tags are pulled only
	// when missing.
	RefreshPeriod time.Duration
	// LockDir holds the lock files that keep processes on this host from using the same cache
	// volumes at once (default: the temp folder). Tests give a folder they remove.
	LockDir string
	Logger  *slog.Logger
}

// Executor runs jobs as Docker containers.
type Executor struct {
	cli  *client.Client
	opts Options

	mu       sync.Mutex
	caches   map[string]chan struct{} // one job at a time per cache volume pair
	sdkLocks map[string]*sync.Mutex   // one fetch at a time per SDK volume
	feedConf map[string]string        // feeds.conf.default by image ID and SDK volume
	pulled   map[string]time.Time     // when this process last tried to pull each image

	kindOnce sync.Once
	kind     string // Workspace, WorkspaceAuto resolved
}

// New returns an executor using cli, which should negotiate the API version
// (client.WithAPIVersionNegotiation): production engines run API 1.41 and later.
func New(cli *client.Client, opts Options) *Executor {
	if opts.Network == "" {
		opts.Network = "bridge"
	}
	if opts.CachePrefix == "" {
		opts.CachePrefix = "openwrt-ppa-cache"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.LockDir == "" {
		opts.LockDir = os.TempDir()
	}
	if opts.RefreshPeriod <= 0 {
		opts.RefreshPeriod = time.Hour
	}
	if opts.Workspace == "" {
		opts.Workspace = WorkspaceAuto
	}
	if opts.DiskDir == "" {
		opts.DiskDir = filepath.Join(os.TempDir(), "openwrt-ppa-workspaces")
	}
	// A disk's volume names its file by full path, for a worker with another folder to free.
	if abs, err := filepath.Abs(opts.DiskDir); err == nil {
		opts.DiskDir = abs
	}
	return &Executor{cli: cli, opts: opts, caches: map[string]chan struct{}{}, sdkLocks: map[string]*sync.Mutex{}, feedConf: map[string]string{}, pulled: map[string]time.Time{}}
}

// CacheVolumes returns the names of the cache volumes of (series, arch).
func (e *Executor) CacheVolumes(scope, series, arch string) (dl, feeds string) {
	base := e.opts.CachePrefix
	if scope != "" {
		base += "-" + scope
	}
	base += "-" + series + "-" + arch
	return base + "-dl", base + "-feeds"
}

// Start makes and starts the job's container.
func (e *Executor) Start(ctx context.Context, spec builder.JobSpec) (builder.Run, error) {
	job := spec.Job
	if spec.FeedName == "" {
		spec.FeedName = builder.DefaultFeedName
	}
	if err := builder.ValidateSpec(spec); err != nil {
		return nil, err
	}
	limits := spec.Limits.WithDefaults()
	src, err := filepath.Abs(spec.SourceDir)
	if err != nil {
		return nil, fmt.Errorf("source folder: %w", err)
	}
	if fi, err := os.Stat(src); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("source folder %s is not a folder: %v", src, err)
	} else if fi.Mode().Perm()&0o005 != 0o005 {
		// buildbot (uid 1000) must read the repository; temp folders are made 0700.
		if err := os.Chmod(src, fi.Mode().Perm()|0o055); err != nil {
			return nil, fmt.Errorf("making %s readable by the build user: %w", src, err)
		}
	}
	img, err := e.image(ctx, job.Image, job.MovingImage())
	if err != nil {
		return nil, err
	}
	workdir := img.workdir
	sdkVol := ""
	if !sdkInImage(img.env) {
		if sdkVol, err = e.ensureSDK(ctx, job, img); err != nil {
			return nil, err
		}
	}
	feeds, err := e.mirrorFeeds(ctx, job, img, sdkVol)
	if err != nil {
		return nil, err
	}
	release, err := e.lockCache(ctx, spec.CacheScope, job.Series, job.Arch)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			release()
		}
	}()
	dlVol, feedsVol := e.CacheVolumes(spec.CacheScope, job.Series, job.Arch)
	newVols, err := e.ensureVolumes(ctx, job, dlVol, feedsVol)
	if err != nil {
		return nil, err
	}

	if newVols {
		if err := e.initVolumes(ctx, job.Image, dlVol, feedsVol); err != nil {
			// Volumes left to root would fail every later build of this (series, arch).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			for _, v := range []string{dlVol, feedsVol} {
				_, _ = e.cli.VolumeRemove(rctx, v, client.VolumeRemoveOptions{})
			}
			cancel()
			return nil, err
		}
	}
	base := "openwrt-ppa-" + strings.ReplaceAll(job.Series, ".", "") + "-" + job.Arch + "-" + randomHex(4)
	ws, holder, disk, err := e.makeWorkspace(ctx, job, base, workdir, limits)
	if err != nil {
		return nil, err
	}
	// Two phases on one workspace: downloads with the job's network, then check and compile,
	// where the packages' own code runs, with no network at all.
	plan := []phase{{name: "fetch", done: driverFetchDone}, {name: "build", done: driverDone}}
	if e.opts.Network == "none" {
		plan = []phase{{name: "all", done: driverDone}}
	}
	var created []phase
	cleanup := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, id := range append([]string{holder}, ids(created)...) {
			if id != "" {
				_, _ = e.cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
			}
		}
		_, _ = e.cli.VolumeRemove(rctx, ws, client.VolumeRemoveOptions{Force: true})
		if disk != "" {
			_ = e.removeDisk(rctx, disk)
		}
	}
	for _, p := range plan {
		cfg, host := e.containerConfig(spec, limits, workdir, src, ws, dlVol, feedsVol, sdkVol, feeds, p.name)
		c, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host, Name: base + "-" + p.name})
		if err != nil {
			cleanup()
			return nil, fmt.Errorf("%w: creating the build container: %w", builder.ErrExecutor, sdkTooBig(err, limits))
		}
		p.id = c.ID
		created = append(created, p)
	}
	r := newRun(e, spec, limits, created, workdir, ws, release)
	r.holder, r.disk = holder, disk
	if err := r.start(ctx); err != nil {
		_ = r.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	ok = true
	e.opts.Logger.Info("build started", "job", job.Name(), "container", base, "image", job.Image, "cache_reused", !newVols, "phases", len(created))
	return r, nil
}

// makeWorkspace makes the job's workspace volume, mounted on the SDK's work dir, capped as
// Options.Workspace says; every phase of the job shares it and Close removes it (and its disk).
// Docker fills a new empty volume with what the image has there (the SDK of a release image)
// when the first container mounts it: one copy per job, as the image's own VOLUME would make.
// A tmpfs volume is empty again at each mount, so for it a holder keeps it mounted and a
// helper copies the SDK in.
func (e *Executor) makeWorkspace(ctx context.Context, job builder.Job, name, workdir string, l builder.Limits) (ws, holder, disk string, err error) {
	labels := map[string]string{LabelJob: job.Key, LabelSeries: job.Series, LabelArch: job.Arch}
	for k, v := range e.opts.Labels {
		labels[k] = v
	}
	opts := client.VolumeCreateOptions{Name: name + "-workspace", Labels: labels}
	kind := e.workspaceKind()
	switch kind {
	case WorkspaceTmpfs:
		opts.Driver = "local"
		opts.DriverOpts = map[string]string{"type": "tmpfs", "device": "tmpfs",
			"o": "size=" + strconv.FormatInt(l.WorkspaceSize, 10) + ",uid=1000,gid=1000,mode=0755,nosuid,nodev"}
	case WorkspaceDisk:
		path, dev, err := e.makeDisk(ctx, name, l.WorkspaceSize)
		if err != nil {
			return "", "", "", fmt.Errorf("%w: making the job's %s workspace disk (--workspace disk: the worker needs root, losetup and mkfs.ext4; or choose tmpfs or volume): %w",
				builder.ErrExecutor, builder.SizeText(l.WorkspaceSize), err)
		}
		disk = path
		labels[LabelDisk] = path
		// The engine mounts the loop device for each phase's container and unmounts it after:
		// no mount of ours to leak, and the file keeps the work between the phases. discard
		// hands the blocks of deleted files back to the host; noinit_itable keeps the kernel
		// from filling in the lazy inode tables.
		opts.Driver = "local"
		opts.DriverOpts = map[string]string{"type": "ext4", "device": dev, "o": "nosuid,nodev,discard,noinit_itable"}
	}
	fail := func(err error) (string, string, string, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if holder != "" {
			_, _ = e.cli.ContainerRemove(rctx, holder, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
		_, _ = e.cli.VolumeRemove(rctx, opts.Name, client.VolumeRemoveOptions{Force: true})
		if disk != "" {
			_ = e.removeDisk(rctx, disk)
		}
		return "", "", "", err
	}
	if _, err := e.cli.VolumeCreate(ctx, opts); err != nil {
		return fail(fmt.Errorf("%w: making the workspace volume: %w", builder.ErrExecutor, err))
	}
	if kind != WorkspaceTmpfs {
		return opts.Name, "", disk, nil // the engine fills it
	}
	// A tmpfs volume lives while some container has it mounted (each new mount is a new,
	// empty tmpfs): a holder keeps it for the job, across the phases; Close removes it.
	pids := int64(4)
	c, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{Image: job.Image, User: "1000:1000", Entrypoint: []string{"/bin/sh", "-c"},
			Cmd: []string{"exec sleep 2147483647"}, Labels: labels, NetworkDisabled: true},
		HostConfig: &container.HostConfig{NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"},
			Resources: container.Resources{Memory: 32 << 20, PidsLimit: &pids}, Runtime: e.opts.Runtime,
			Mounts: []mount.Mount{{Type: mount.TypeVolume, Source: opts.Name, Target: wsCopyMount}}},
		Name: name + "-workspace",
	})
	if err != nil {
		return fail(fmt.Errorf("%w: making the workspace holder: %w", builder.ErrExecutor, err))
	}
	holder = c.ID
	if _, err := e.cli.ContainerStart(ctx, holder, client.ContainerStartOptions{}); err != nil {
		return fail(fmt.Errorf("%w: starting the workspace holder: %w", builder.ErrExecutor, err))
	}
	// Copy the work dir in, from a helper whose own work dir is the image's (its anonymous
	// VOLUME, removed with the helper).
	err = e.runHelper(ctx, helper{
		image: job.Image, workdir: workdir, network: "none", labels: labels, timeout: 10 * time.Minute,
		cmd:    "cp -a ./. " + wsCopyMount + "/",
		mounts: []mount.Mount{{Type: mount.TypeVolume, Source: opts.Name, Target: wsCopyMount}},
	})
	if err != nil {
		return fail(fmt.Errorf("%w: copying the SDK into the job's workspace failed (its cap, %s, may be smaller than the SDK: raise --workspace-size): %w",
			builder.ErrExecutor, builder.SizeText(l.WorkspaceSize), err))
	}
	return opts.Name, holder, disk, nil
}

// sdkTooBig explains an engine's "no space left" while it fills the workspace with the SDK.
func sdkTooBig(err error, l builder.Limits) error {
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "no space left on device") {
		return err
	}
	return fmt.Errorf("disk full: the SDK does not fit in the job's workspace, capped at %s: raise --workspace-size: %w", builder.SizeText(l.WorkspaceSize), err)
}

func ids(ps []phase) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.id
	}
	return out
}

// wsCopyMount is where the helper that fills a workspace mounts it.
const wsCopyMount = "/openwrt-ppa/workspace"

func (e *Executor) containerConfig(spec builder.JobSpec, l builder.Limits, workdir, src, ws, dlVol, feedsVol, sdkVol string, feeds map[string]string, phase string) (*container.Config, *container.HostConfig) {
	job := spec.Job
	labels := map[string]string{LabelJob: job.Key, LabelSeries: job.Series, LabelArch: job.Arch}
	for k, v := range e.opts.Labels {
		labels[k] = v
	}
	cfg := &container.Config{
		Image:           job.Image,
		User:            "1000:1000",
		WorkingDir:      workdir,
		Entrypoint:      []string{"/bin/sh", "-c"},
		Cmd:             []string{builder.DriverScript()},
		Env:             builder.DriverEnv(spec, l, srcMount, phase),
		Labels:          labels,
		NetworkDisabled: e.opts.Network == "none" || phase == "build",
	}
	pids := l.Pids
	size := strconv.FormatInt(l.WorkspaceSize, 10)
	tmpfs := map[string]string{"/tmp": "rw,exec,nosuid,nodev,size=" + size + ",mode=1777"}
	if e.opts.TmpfsBuildDir {
		tmpfs[workdir+"/build_dir"] = "rw,exec,nosuid,nodev,size=" + size + ",uid=1000,gid=1000,mode=0755"
	}
	network := e.opts.Network
	if phase == "build" {
		network = "none"
	}
	host := &container.HostConfig{
		NetworkMode: container.NetworkMode(network),
		CapDrop:     []string{"ALL"},
		SecurityOpt: []string{"no-new-privileges"},
		Resources: container.Resources{
			Memory:     l.MemoryBytes,
			MemorySwap: l.MemoryBytes, // no swap on top
			NanoCPUs:   l.NanoCPUs,
			PidsLimit:  &pids,
		},
		Mounts: []mount.Mount{
			{Type: mount.TypeBind, Source: src, Target: srcMount, ReadOnly: true},
			{Type: mount.TypeVolume, Source: ws, Target: workdir},
			{Type: mount.TypeVolume, Source: dlVol, Target: workdir + "/dl"},
			{Type: mount.TypeVolume, Source: feedsVol, Target: workdir + "/feeds"},
		},
		Tmpfs: tmpfs,
		// The log is streamed as it comes; the engine's copy is bounded so a flood cannot
		// fill the host's disk.
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "16m", "max-file": "2"}},
		Runtime:   e.opts.Runtime,
	}
	if e.opts.RootfsSize != "" {
		host.StorageOpt = map[string]string{"size": e.opts.RootfsSize}
	}
	if sdkVol != "" {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeVolume, Source: sdkVol, Target: sdkMount, ReadOnly: true})
		cfg.Env = append(cfg.Env, "OPENWRT_PPA_SDK="+sdkMount)
	}
	if e.opts.GitHubFeeds {
		cfg.Env = append(cfg.Env, "OPENWRT_PPA_GITHUB_FEEDS=1")
	}
	if len(feeds) > 0 {
		names := make([]string, 0, len(feeds))
		for n := range feeds {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: feeds[n], Target: feedMirrorMount + "/" + n, ReadOnly: true})
		}
		cfg.Env = append(cfg.Env, "OPENWRT_PPA_FEED_MIRROR="+feedMirrorMount)
	}
	return cfg, host
}

// imageInfo is what the executor needs to know of an SDK image.
type imageInfo struct {
	id      string
	workdir string // /builder in the official images
	env     []string
}

// needPull decides whether to pull an image: one the engine lacks always, one of a moving tag
// (re-pushed upstream) when this process last tried longer than period ago (or never: after a
// restart the local copy's age is unknown), a release tag's never again.
func needPull(present, moving bool, lastTry, now time.Time, period time.Duration) bool {
	return !present || moving && (lastTry.IsZero() || now.Sub(lastTry) >= period)
}

// image makes sure the image is present (and, for a moving tag, fresh) and returns what the
// executor needs of it.
func (e *Executor) image(ctx context.Context, ref string, moving bool) (imageInfo, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	present := err == nil
	if e.opts.Pull && (present || cerrdefs.IsNotFound(err)) {
		now := time.Now()
		e.mu.Lock()
		pull := needPull(present, moving, e.pulled[ref], now, e.opts.RefreshPeriod)
		if pull {
			// The attempt counts, so a registry that is down costs one failed pull per period.
			e.pulled[ref] = now
		}
		e.mu.Unlock()
		if pull {
			e.opts.Logger.Info("pulling SDK image", "image", ref, "refresh", present)
			perr := e.pull(ctx, ref)
			switch {
			case perr == nil:
				img, err = e.cli.ImageInspect(ctx, ref)
			case present:
				e.opts.Logger.Warn("could not refresh SDK image; building with the local copy, which may be stale (check the registry and the engine's network)", "image", ref, "err", perr)
			default:
				return imageInfo{}, perr
			}
		}
	}
	if err != nil {
		return imageInfo{}, fmt.Errorf("%w: SDK image %s is not available (pull it, or build the stand-in with make sdk-standin): %w", builder.ErrExecutor, ref, err)
	}
	info := imageInfo{id: img.ID, workdir: "/builder"}
	if img.Config != nil {
		if img.Config.WorkingDir != "" {
			info.workdir = img.Config.WorkingDir
		}
		info.env = img.Config.Env
	}
	return info, nil
}

// pull pulls ref to the engine.
func (e *Executor) pull(ctx context.Context, ref string) error {
	resp, err := e.cli.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("%w: pulling %s: %w", builder.ErrExecutor, ref, err)
	}
	defer resp.Close()
	_, _ = io.Copy(io.Discard, resp)
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("%w: pulling %s: %w", builder.ErrExecutor, ref, err)
	}
	return nil
}

// ImageDigest is the id (the digest of its configuration, which names its layers) of the image
// ref on the engine, or "" when the engine does not have it: nothing is pulled. The service puts
// it in a job's content key, so a result built in one image never stands for another's.
func (e *Executor) ImageDigest(ctx context.Context, ref string) (string, error) {
	img, err := e.cli.ImageInspect(ctx, ref)
	if cerrdefs.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%w: inspecting %s: %w", builder.ErrExecutor, ref, err)
	}
	return img.ID, nil
}

// lockCache lets one job at a time use the cache volumes of a (series, arch): a channel in this
// process, then a lock file in LockDir for other processes on this host (serve and
// workers sharing a local engine). Processes on other hosts sharing one remote engine must use
// different CachePrefix values.
func (e *Executor) lockCache(ctx context.Context, scope, series, arch string) (func(), error) {
	key := scope + "/" + series + "/" + arch
	e.mu.Lock()
	ch := e.caches[key]
	if ch == nil {
		ch = make(chan struct{}, 1)
		e.caches[key] = ch
	}
	e.mu.Unlock()
	select {
	case ch <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the %s cache: %w", key, ctx.Err())
	}
	dl, _ := e.CacheVolumes(scope, series, arch)
	funlock, err := builder.LockFile(ctx, filepath.Join(e.opts.LockDir, dl+".lock"))
	if err != nil {
		<-ch
		return nil, fmt.Errorf("%w: %w", builder.ErrExecutor, err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			funlock()
			<-ch
		})
	}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
