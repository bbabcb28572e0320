package feeds

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// RemoveRef removes every feed of a branch, tag or pull request (all series and architectures),
// as when the branch is deleted. The folder is first renamed out of the URL space in one step,
// so readers never see half a feed, then deleted. Removing what does not exist is not an error.
// ref.Series and ref.Arch are ignored.
func (s *Store) RemoveRef(ctx context.Context, ref FeedRef) error {
	rel, err := ref.refDir()
	if err != nil {
		return fmt.Errorf("removing feeds of %s/%s: %w", ref.Owner, ref.Repo, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	repoRel, _ := RepoDir(ref.Owner, ref.Repo)
	src := filepath.Join(s.root, filepath.FromSlash(rel))
	trash, err := os.MkdirTemp(filepath.Join(s.root, filepath.FromSlash(repoRel)), ".removed-")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing feeds of %s: %w", rel, err)
	}
	defer os.RemoveAll(trash)
	if err := os.Rename(src, filepath.Join(trash, "feed")); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("removing feeds of %s: %w", rel, err)
	}
	s.mu.Lock()
	for d := range s.feeds {
		if strings.HasPrefix(d, rel+"/") {
			delete(s.feeds, d)
		}
	}
	s.mu.Unlock()
	s.opt.Logger.Info("feeds removed", "ref", rel)
	return nil
}

// List returns the packages a feed's index lists now (nothing for a feed never published).
func (s *Store) List(ctx context.Context, ref FeedRef) ([]PackageInfo, error) {
	rel, err := ref.Dir()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	f := s.feed(rel)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := s.load(f, dir, anyFormat); err != nil {
		f.loaded = false
		return nil, err
	}
	out := make([]PackageInfo, 0, len(f.entries)+len(f.apk))
	for _, e := range f.entries {
		out = append(out, infoOf(e.pkg))
	}
	for _, e := range f.apk {
		out = append(out, e.file)
	}
	return out, nil
}
