package kube

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// exec runs cmd in a container of a pod through the API server, as kubectl exec does: over a
// WebSocket, or SPDY where a proxy in between cannot upgrade to one.
func (e *Executor) exec(ctx context.Context, pod, container string, cmd []string, stdin io.Reader, stdout, stderr io.Writer) error {
	req := e.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(e.opts.Namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container, Command: cmd,
			Stdin: stdin != nil, Stdout: stdout != nil, Stderr: stderr != nil,
		}, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(e.cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	spdy, err := remotecommand.NewSPDYExecutor(e.cfg, "POST", req.URL())
	if err != nil {
		return err
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return err
	}
	return ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr})
}

// errStreamEnded tells a writer into an exec that the command no longer reads.
var errStreamEnded = errors.New("the stream into the pod ended")

// isExitError reports whether err is the exit status of a command that ran (not a failure to run it).
func isExitError(err error) bool {
	var ce exec.CodeExitError
	return errors.As(err, &ce)
}

// sendSources streams the repository in dir into the pod's source volume (through the io
// container) and then marks it complete, which starts the build; and notes on the Job that it
// is, so that a later worker may adopt the Job.
func (r *run) sendSources(ctx context.Context, dir string) error {
	if err := r.streamTree(ctx, dir, r.e.opts.SourceBytes, nil,
		"mkdir -p "+srcDir+" && tar -x -f - -C "+srcDir+" && : > "+readyFile); err != nil {
		return fmt.Errorf("%w: streaming the repository into the build pod %s: %w", builder.ErrExecutor, r.pod, err)
	}
	patch := []byte(`{"metadata":{"annotations":{"` + annSources + `":"in"}}}`)
	if _, err := r.e.cs.BatchV1().Jobs(r.e.opts.Namespace).Patch(ctx, r.job, "application/merge-patch+json", patch, metav1.PatchOptions{FieldManager: fieldManager}); err != nil {
		return fmt.Errorf("%w: marking Job %s: %w", builder.ErrExecutor, r.job, err)
	}
	return nil
}

// streamTree packs the tree at dir (writeTree) into the io container's stdin, where script
// unpacks it.
func (r *run) streamTree(ctx context.Context, dir string, limit int64, skip func(rel string) bool, script string) error {
	pr, pw := io.Pipe()
	werr := make(chan error, 1)
	go func() {
		err := writeTree(pw, dir, limit, skip)
		pw.CloseWithError(err)
		werr <- err
	}()
	var stderr strings.Builder
	err := r.e.exec(ctx, r.pod, ctrIO, []string{"/bin/sh", "-c", script}, pr, nil, &stderr)
	_ = pr.CloseWithError(errStreamEnded)
	if terr := <-werr; terr != nil && !errors.Is(terr, errStreamEnded) {
		return terr
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// writeTree writes the tree at dir as a tar stream: folders, regular files and symlinks (as
// links, never followed), at most limit bytes of file content; paths skip reports true for
// are left out (with what is under them).
func writeTree(w io.Writer, dir string, limit int64, skip func(rel string) bool) error {
	tw := tar.NewWriter(w)
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if skip != nil && skip(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case info.IsDir(), info.Mode().IsRegular():
		default:
			return nil // sockets, devices: nothing a build reads
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		// The build user must read everything (checkouts may be made 0700).
		h.Mode |= 0o444
		if info.IsDir() {
			h.Mode |= 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		if total += info.Size(); total > limit {
			return fmt.Errorf("%s has more than %d bytes of files, more than the build pod takes", dir, limit)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyN(tw, f, info.Size())
		return err
	})
	if err != nil {
		return fmt.Errorf("packing %s: %w", dir, err)
	}
	return tw.Close()
}
