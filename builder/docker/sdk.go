package docker

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// sdkMount is where a build sees the SDK that setup.sh fetched once (read-only).
const sdkMount = "/openwrt-ppa/sdk"

// sdkSetupTimeout bounds fetching and unpacking one SDK.
const sdkSetupTimeout = 20 * time.Minute

// sdkInImage reports whether an image carries its SDK: release images are built with
// RUN_SETUP=1 (setup.sh ran at build time and stays); snapshot and branch images carry only
// setup.sh, which downloads the SDK.
func sdkInImage(env []string) bool {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RUN_SETUP="); ok {
			return v == "1"
		}
	}
	return false
}

// SDKVolume is the name of the volume holding the SDK fetched for an image (by its ID), shared
// by every build of that image: nothing but the image's own setup.sh writes it, and builds
// mount it read-only.
func (e *Executor) SDKVolume(series, arch, imageID string) string {
	id := strings.TrimPrefix(imageID, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return e.opts.CachePrefix + "-sdk-" + series + "-" + arch + "-" + id
}

// ensureSDK makes sure the SDK an image's setup.sh fetches is in its SDK volume, running
// setup.sh once per image (not once per job) in a helper container with the builds' network.
// The helper mounts the new volume on the work dir, so Docker fills it with the image's work
// dir first (setup.sh, its keys, owned by buildbot) and setup.sh unpacks the SDK next to them.
// It returns the volume's name; a failed fetch leaves no volume behind.
func (e *Executor) ensureSDK(ctx context.Context, job builder.Job, img imageInfo) (string, error) {
	vol := e.SDKVolume(job.Series, job.Arch, img.id)
	e.mu.Lock()
	l := e.sdkLocks[vol]
	if l == nil {
		l = &sync.Mutex{}
		e.sdkLocks[vol] = l
	}
	e.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	unlock, err := builder.LockFile(ctx, filepath.Join(e.opts.LockDir, vol+".lock"))
	if err != nil {
		return "", fmt.Errorf("%w: %w", builder.ErrExecutor, err)
	}
	defer unlock()
	if _, err := e.cli.VolumeInspect(ctx, vol, client.VolumeInspectOptions{}); err == nil {
		return vol, nil
	} else if !cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("%w: looking up SDK volume %s: %w", builder.ErrExecutor, vol, err)
	}
	labels := map[string]string{LabelCache: "sdk", LabelSeries: job.Series, LabelArch: job.Arch, LabelImage: img.id}
	for k, v := range e.opts.Labels {
		labels[k] = v
	}
	if _, err := e.cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: vol, Labels: labels}); err != nil {
		return "", fmt.Errorf("%w: making SDK volume %s: %w", builder.ErrExecutor, vol, err)
	}
	e.opts.Logger.Info("fetching the SDK with the image's setup.sh", "image", job.Image, "volume", vol)
	if err := e.runSetup(ctx, job.Image, img.workdir, vol, labels); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		_, _ = e.cli.VolumeRemove(rctx, vol, client.VolumeRemoveOptions{Force: true})
		cancel()
		return "", err
	}
	return vol, nil
}

func (e *Executor) runSetup(ctx context.Context, image, workdir, vol string, labels map[string]string) error {
	// The marker tells builds the fetch completed.
	err := e.runHelper(ctx, helper{
		image: image, workdir: workdir, network: e.opts.Network, labels: labels, timeout: sdkSetupTimeout,
		cmd:    "{ [ -d ./scripts ] || ./setup.sh; } && touch .openwrt-ppa-sdk",
		mounts: []mount.Mount{{Type: mount.TypeVolume, Source: vol, Target: workdir}},
	})
	if err != nil {
		return fmt.Errorf("%w: fetching the SDK with setup.sh in %s: %w", builder.ErrExecutor, image, err)
	}
	return nil
}

// helper is a short container from an SDK image that runs one command of ours as buildbot
// (no repository code), without capabilities.
type helper struct {
	image, workdir, network, cmd string
	mounts                       []mount.Mount
	labels                       map[string]string
	timeout                      time.Duration
	output                       *strings.Builder // receives the command's output when it succeeds
}

func (e *Executor) runHelper(ctx context.Context, h helper) error {
	pids := int64(256)
	created, err := e.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config: &container.Config{
			Image: h.image, User: "1000:1000", WorkingDir: h.workdir, Entrypoint: []string{"/bin/sh", "-c"},
			Cmd: []string{h.cmd}, Labels: h.labels, NetworkDisabled: h.network == "none",
		},
		HostConfig: &container.HostConfig{
			NetworkMode: container.NetworkMode(h.network), CapDrop: []string{"ALL"},
			SecurityOpt: []string{"no-new-privileges"},
			Resources:   container.Resources{Memory: 2 << 30, MemorySwap: 2 << 30, PidsLimit: &pids},
			Mounts:      h.mounts,
			LogConfig:   container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "1m", "max-file": "1"}},
			Runtime:     e.opts.Runtime,
		},
	})
	if err != nil {
		return err
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = e.cli.ContainerRemove(rctx, created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	}()
	wctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	w := e.cli.ContainerWait(wctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := e.cli.ContainerStart(wctx, created.ID, client.ContainerStartOptions{}); err != nil {
		return err
	}
	select {
	case res := <-w.Result:
		if res.StatusCode != 0 {
			return fmt.Errorf("exited with %d: %s", res.StatusCode, e.lastLog(ctx, created.ID))
		}
	case err := <-w.Error:
		return err
	}
	if h.output != nil {
		res, err := e.cli.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStdout: true})
		if err != nil {
			return fmt.Errorf("reading the output: %w", err)
		}
		defer res.Close()
		if _, err := stdcopy.StdCopy(h.output, io.Discard, io.LimitReader(res, 1<<20)); err != nil {
			return fmt.Errorf("reading the output: %w", err)
		}
	}
	return nil
}

// lastLog returns the end of a helper container's log, for an error message.
func (e *Executor) lastLog(ctx context.Context, id string) string {
	res, err := e.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5"})
	if err != nil {
		return "(no log)"
	}
	defer res.Close()
	var lines []string
	w := builder.NewLineWriter(builder.LogFunc(func(l string) { lines = append(lines, l) }))
	_, _ = stdcopy.StdCopy(w, w, res)
	w.Flush()
	return strings.Join(lines, " / ")
}
