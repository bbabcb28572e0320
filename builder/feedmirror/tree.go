package feedmirror

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeTree writes the files of commit h into the empty folder dir. Every path is opened through
// an os.Root of dir, so a crafted tree (a symlink, then a file "through" it) cannot write outside
// it. Modes are set explicitly: builds read the tree as uid 1000 whatever the service's umask.
// Submodules become empty folders, as in a clone that did not init them.
func writeTree(repo *git.Repository, h plumbing.Hash, dir string) error {
	commit, err := repo.CommitObject(h)
	if err != nil {
		return err
	}
	tree, err := commit.Tree()
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !cleanPath(name) {
			return fmt.Errorf("the tree holds the path %q, which no checkout may write", name)
		}
		switch e.Mode {
		case filemode.Dir, filemode.Submodule:
			if err := root.Mkdir(name, 0o755); err != nil {
				return err
			}
			if err := root.Chmod(name, 0o755); err != nil {
				return err
			}
		case filemode.Symlink:
			target, err := blobBytes(repo, e.Hash, 4096)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := root.Symlink(string(target), name); err != nil {
				return err
			}
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			mode := os.FileMode(0o644)
			if e.Mode == filemode.Executable {
				mode = 0o755
			}
			if err := writeBlob(repo, root, name, e.Hash, mode); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		default:
			return fmt.Errorf("%s: unknown mode %s in the tree", name, e.Mode)
		}
	}
}

func writeBlob(repo *git.Repository, root *os.Root, name string, h plumbing.Hash, mode os.FileMode) error {
	b, err := repo.BlobObject(h)
	if err != nil {
		return err
	}
	r, err := b.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func blobBytes(repo *git.Repository, h plumbing.Hash, limit int64) ([]byte, error) {
	b, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	if b.Size > limit {
		return nil, fmt.Errorf("a symlink of %d bytes", b.Size)
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
}

// cleanPath accepts a relative slash path of plain names: no "", ".", ".." or ".git" part.
func cleanPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") {
			return false
		}
	}
	return true
}
