package local

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
)

// source is what SOURCE names, worked out before anything is fetched.
type source struct {
	url    string // what the checkout is asked for: a remote URL, or the folder's absolute path
	folder string // a local folder: its absolute path
	// asIs: the folder is built with its files as they are, not a commit of it (a folder that
	// is not a git repository always is, like the context of `docker build .`).
	asIs   bool
	notGit bool // the folder is not the top of a git repository
	auth   func(url string) (transport.AuthMethod, error)
}

// resolveSource tells a remote repository from a local folder (a path or a file:// URL), and
// finds the credentials an ssh URL needs. Every mistake it reports says what to do.
func resolveSource(s, ref string, asIs bool, sshKey string) (source, error) {
	if strings.HasPrefix(strings.ToLower(s), "file:") {
		p, err := fileURLPath(s)
		if err != nil {
			return source{}, err
		}
		s = p
	}
	if !isLocal(s) {
		if asIs {
			return source{}, fmt.Errorf("--as-is builds a local folder as it is; %s is a remote repository", s)
		}
		auth, err := sshAuth(s, sshKey)
		return source{url: s, auth: auth}, err
	}
	abs, err := filepath.Abs(s)
	if err != nil {
		return source{}, fmt.Errorf("resolving %s: %w", s, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return source{}, fmt.Errorf("%s is neither a git URL nor a folder here (%w): give an https or ssh URL, or a path to a folder", s, err)
	}
	if !fi.IsDir() {
		return source{}, fmt.Errorf("%s is a file, not a folder: give the repository's folder", s)
	}
	src := source{url: abs, folder: abs, asIs: asIs}
	if _, err := git.PlainOpen(abs); errors.Is(err, git.ErrRepositoryNotExists) {
		src.notGit, src.asIs = true, true
	} else if err != nil {
		return source{}, fmt.Errorf("opening the git repository %s: %w", abs, err)
	}
	if src.asIs && ref != "" {
		return source{}, fmt.Errorf("%s is built as it is, which has no ref %q: drop @REF and --ref, or leave out --as-is to build a commit", abs, ref)
	}
	return src, nil
}

// fileURLPath is the path of a file:// URL on this machine.
func fileURLPath(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "file" || u.Opaque != "" || u.Path == "" {
		return "", fmt.Errorf("%q is not a file URL like file:///path/to/repo: give that, or the path itself", s)
	}
	if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("%s names host %q: a file URL can only name this machine (file:///path)", s, u.Host)
	}
	return filepath.FromSlash(u.Path), nil
}

// isLocal tells a path from a git URL (scheme://…, or scp-like user@host:path).
func isLocal(s string) bool {
	if strings.Contains(s, "://") {
		return false
	}
	if i := strings.Index(s, ":"); i > 0 && !strings.ContainsAny(s[:i], "/\\") {
		return false
	}
	return true
}

// sshAuth returns the credentials of an ssh URL: the key file given, else the user's ssh agent.
// This is the user's own machine asking for the user's own repository, so the agent is theirs to
// use (the service never does). Other URLs need none (nil).
func sshAuth(s, keyFile string) (func(string) (transport.AuthMethod, error), error) {
	ep, err := transport.NewEndpoint(s)
	if err != nil || ep.Protocol != "ssh" {
		if keyFile != "" {
			return nil, fmt.Errorf("--ssh-key is for ssh URLs; %s is not one", s)
		}
		return nil, nil
	}
	if keyFile != "" {
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, keyFile, "")
		if err != nil {
			return nil, fmt.Errorf("--ssh-key %s: %w (a key with a passphrase: add it to ssh-agent with ssh-add, and leave out --ssh-key)", keyFile, err)
		}
		return func(string) (transport.AuthMethod, error) { return keys, nil }, nil
	}
	if os.Getenv("SSH_AUTH_SOCK") == "" {
		return nil, fmt.Errorf("%s is an ssh URL, and no ssh agent runs here (SSH_AUTH_SOCK is not set): "+
			"start one and add your key (eval \"$(ssh-agent)\"; ssh-add), use the repository's https URL, or pass --ssh-key FILE", s)
	}
	return builder.SSHAgentAuth, nil
}

// copyFolder copies the folder src into dest as it is, uncommitted changes included: regular
// files, folders and symlinks (as links, the way git checks them out), but no .git folder, and
// not skip (the feed folder, when it is inside). It returns a 40-hex id of the content, which
// stands for the commit in job keys.
func copyFolder(src, dest, skip string, limit int64) (string, error) {
	h := sha256.New()
	var total int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if rel != "." && (d.Name() == ".git" || p == skip) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dest, rel)
		fmt.Fprintf(h, "%s\x00%s\x00", filepath.ToSlash(rel), d.Type())
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			io.WriteString(h, target)
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if total += info.Size(); total > limit {
				return fmt.Errorf("%s holds more than %d MiB: build a smaller folder (or keep large files out of it)", src, limit>>20)
			}
			_ = binary.Write(h, binary.BigEndian, uint32(info.Mode().Perm()))
			return copyFile(p, to, info.Mode().Perm()|0o200, h)
		default:
			return nil // sockets, devices, pipes: nothing a package build reads
		}
	})
	if err != nil {
		return "", fmt.Errorf("copying %s: %w", src, err)
	}
	return hex.EncodeToString(h.Sum(nil)[:20]), nil
}

func copyFile(src, dst string, perm fs.FileMode, h io.Writer) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// uncommitted lists up to max paths of the git work tree at dir that differ from its HEAD, and
// how many there are.
func uncommitted(dir string, max int) ([]string, int, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil, 0, err
	}
	wt, err := repo.Worktree()
	if errors.Is(err, git.ErrIsBareRepository) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := wt.Status()
	if err != nil {
		return nil, 0, err
	}
	var changed []string
	for p, s := range st {
		if s.Worktree != git.Unmodified || s.Staging != git.Unmodified {
			changed = append(changed, p)
		}
	}
	sort.Strings(changed)
	return changed[:min(max, len(changed))], len(changed), nil
}
