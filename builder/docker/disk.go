package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
)

// Where a job's workspace (the SDK's work dir, /builder, where the build writes) lives.
const (
	// WorkspaceAuto is WorkspaceDisk where loop devices work, else WorkspaceVolume, said once
	// in the log.
	WorkspaceAuto = "auto"
	// WorkspaceDisk is a file of Limits.WorkspaceSize in DiskDir, sparse, formatted ext4 and
	// attached to a loop device, which the engine's local volume driver mounts: a real cap on
	// real disk. Needs root (or CAP_SYS_ADMIN and /dev/loop*), losetup (util-linux),
	// mkfs.ext4 and debugfs (e2fsprogs) on the engine's own host.
	WorkspaceDisk = "disk"
	// WorkspaceTmpfs is a tmpfs of Limits.WorkspaceSize: a real cap, held in memory.
	WorkspaceTmpfs = "tmpfs"
	// WorkspaceVolume is a plain volume: as big as the engine's disk allows.
	WorkspaceVolume = "volume"
)

// LabelDisk marks a disk workspace's volume with its file's full path, so a worker that finds
// the volume of a dead one also frees the loop device and the file, in whatever folder the dead
// worker kept them (older volumes hold the bare name of a file in DiskDir).
const LabelDisk = "openwrt-ppa.disk"

// diskGrace is how old a disk file with no volume naming it must be before it counts as left
// behind: between making the file and making its volume, a live worker's file has none.
const diskGrace = 10 * time.Minute

// diskName is the form of the files the executor makes in DiskDir; a label's value is used as
// a file name only when it has it.
var diskName = regexp.MustCompile(`^openwrt-ppa-[a-z0-9_-]+\.img$`)

// ParseWorkspace checks a workspace kind given on the command line.
func ParseWorkspace(s string) (string, error) {
	switch s {
	case "", WorkspaceAuto:
		return WorkspaceAuto, nil
	case WorkspaceDisk, WorkspaceTmpfs, WorkspaceVolume:
		return s, nil
	}
	return "", fmt.Errorf("workspace %q: use auto, disk (a capped ext4 file on a loop device), tmpfs (capped, in memory) or volume (uncapped)", s)
}

// workspaceKind resolves WorkspaceAuto once, by trying a loop device.
func (e *Executor) workspaceKind() string {
	e.kindOnce.Do(func() {
		e.kind = e.opts.Workspace
		if e.kind != WorkspaceAuto {
			return
		}
		if err := e.probeDisk(); err != nil {
			e.kind = WorkspaceVolume
			e.opts.Logger.Warn("job workspaces are plain volumes, as big as the disk allows: a capped disk workspace needs loop devices ("+
				"run the worker as root with losetup and mkfs.ext4, or choose --workspace tmpfs)", "err", err)
			return
		}
		e.kind = WorkspaceDisk
		e.opts.Logger.Info("job workspaces are capped ext4 files on loop devices", "dir", e.opts.DiskDir)
	})
	return e.kind
}

// privateDir makes dir, or accepts it only if no one else can write into it: the files in it
// become filesystems the kernel mounts as root, and the default lies in the shared temp folder,
// where another user could have made it first and swap an image between mkfs and losetup.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making the disk workspaces' folder %s: %w", dir, err)
	}
	return checkPrivateDir(dir)
}

// checkPrivateDir is privateDir for a folder that must be there already: one a volume's label
// names, which is not made.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("the disk workspaces' folder %s is not a folder (a symlink?): remove it (serve and worker keep it in --data), or choose --workspace volume", dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("the disk workspaces' folder %s belongs to uid %d, not to this process: remove it (serve and worker keep it in --data), or choose --workspace volume", dir, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("the disk workspaces' folder %s is writable by others (mode %o): chmod 700 it, or choose --workspace volume", dir, fi.Mode().Perm())
	}
	return nil
}

// probeDisk attaches a small file to a loop device and detaches it again.
func (e *Executor) probeDisk() error {
	for _, tool := range []string{"losetup", "mkfs.ext4", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	if err := privateDir(e.opts.DiskDir); err != nil {
		return err
	}
	f, err := os.CreateTemp(e.opts.DiskDir, "probe-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	err = f.Truncate(1 << 20)
	f.Close()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dev, err := command(ctx, "losetup", "--find", "--show", "--nooverlap", f.Name())
	if err != nil {
		return err
	}
	_, err = command(ctx, "losetup", "--detach", dev)
	return err
}

// makeDisk makes a sparse file of size bytes in DiskDir, formats it ext4 with the build user
// owning its empty root, and attaches it to a free loop device. No journal (a crash throws the
// workspace away anyway) and lazy inode tables keep the file sparse: the host's disk holds
// what the build wrote, up to the cap.
func (e *Executor) makeDisk(ctx context.Context, name string, size int64) (path, dev string, err error) {
	if err := privateDir(e.opts.DiskDir); err != nil {
		return "", "", err
	}
	path = filepath.Join(e.opts.DiskDir, name+".img")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", "", err
	}
	err = f.Truncate(size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		_, err = command(ctx, "mkfs.ext4", "-q", "-F", "-m", "0", "-O", "^has_journal",
			"-E", "root_owner=1000:1000,lazy_itable_init=1,nodiscard", "-L", "openwrt-ppa", path)
	}
	if err == nil {
		// The engine fills an empty volume with the image's work dir (the SDK) when the first
		// container mounts it, straight onto the disk: once per job, and no helper's copy in
		// between. mkfs's lost+found would make it not empty.
		_, err = command(ctx, "debugfs", "-w", "-R", "rmdir lost+found", path)
	}
	if err == nil {
		var ls string
		if ls, err = command(ctx, "debugfs", "-R", "ls /", path); err == nil && strings.Contains(ls, "lost+found") {
			err = errors.New("debugfs could not remove lost+found from the new filesystem")
		}
	}
	if err == nil {
		dev, err = command(ctx, "losetup", "--find", "--show", "--nooverlap", path)
	}
	if err != nil {
		_ = e.removeDisk(context.WithoutCancel(ctx), path)
		return "", "", err
	}
	return path, dev, nil
}

// removeDisk detaches every loop device backed by path (one still mounted detaches when it is
// unmounted) and removes the file. A missing file is no error.
func (e *Executor) removeDisk(ctx context.Context, path string) error {
	var errs []error
	if out, err := command(ctx, "losetup", "--list", "--noheadings", "--output", "NAME", "--associated", path); err != nil {
		errs = append(errs, err)
	} else {
		for dev := range strings.FieldsSeq(out) {
			if _, err := command(ctx, "losetup", "--detach", dev); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// diskOf returns the file a workspace volume's labels name, if it is one of ours to free: a bare
// name is a file in DiskDir; a full path (another worker's folder) is taken only when it is
// clean, names a file of the executor's form, and the folder passes privateDir's check; and the
// file must be this user's own (ownDisk). Anyone who may make volumes may write the label, and
// freeing detaches loop devices and removes the file as root.
func (e *Executor) diskOf(labels map[string]string) (string, bool) {
	label, ok := labels[LabelDisk]
	if !ok {
		return "", false
	}
	if !filepath.IsAbs(label) {
		if !diskName.MatchString(label) || e.opts.DiskDir == "" {
			return "", false
		}
		path := filepath.Join(e.opts.DiskDir, label)
		return path, ownDisk(path)
	}
	if filepath.Clean(label) != label || !diskName.MatchString(filepath.Base(label)) || checkPrivateDir(filepath.Dir(label)) != nil {
		return "", false
	}
	return label, ownDisk(label)
}

// ownDisk says whether path is a file this process's user owns (not a link): what the executor
// made. A missing file is not, and needs no freeing: a loop device is found by its file.
func ownDisk(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// sweepDisks removes the disk files in DiskDir (and their loop devices) that no volume names and
// that are older than diskGrace: a worker died between making one and making its volume, or its
// volume went without us (docker volume rm, a pruned engine). It returns how many it removed.
func (e *Executor) sweepDisks(ctx context.Context) (int, error) {
	if e.opts.DiskDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(e.opts.DiskDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	vols, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: make(client.Filters).Add("label", LabelDisk)})
	if err != nil {
		return 0, fmt.Errorf("listing disk workspace volumes: %w", err)
	}
	used := map[string]bool{}
	for _, v := range vols.Items {
		label := v.Labels[LabelDisk]
		if !filepath.IsAbs(label) {
			label = filepath.Join(e.opts.DiskDir, label)
		}
		used[filepath.Clean(label)] = true
	}
	n := 0
	var errs []error
	for _, en := range entries {
		probe := strings.HasPrefix(en.Name(), "probe-")
		if used[filepath.Join(e.opts.DiskDir, en.Name())] || !(diskName.MatchString(en.Name()) || probe) {
			continue
		}
		fi, err := en.Info()
		if err != nil || time.Since(fi.ModTime()) < diskGrace {
			continue
		}
		if err := e.removeDisk(ctx, filepath.Join(e.opts.DiskDir, en.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
		e.opts.Logger.Info("removed a left-behind workspace disk", "file", en.Name())
	}
	return n, errors.Join(errs...)
}

// command runs a tool and returns its output, trimmed; its error carries what it printed.
func command(ctx context.Context, name string, args ...string) (string, error) {
	var out, stderr strings.Builder
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
