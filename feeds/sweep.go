package feeds

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// FeedDir is the absolute folder of a feed (which may not exist yet).
func (s *Store) FeedDir(ref FeedRef) (string, error) {
	rel, err := ref.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(rel)), nil
}

// Sweep deletes, in every feed, the retired package files whose grace period is over. Publishing
// does this for the feed it publishes; Sweep is for feeds nobody publishes to any more (run it
// from time to time, e.g. hourly). It returns how many files it deleted.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	var dirs []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() && d.Name() != "." && len(d.Name()) > 0 && d.Name()[0] == '.' {
			return fs.SkipDir
		}
		if !d.IsDir() && d.Name() == fileRetired {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweeping %s: %w", s.root, err)
	}
	deleted := 0
	for _, dir := range dirs {
		n, err := s.sweepDir(ctx, dir)
		if err != nil {
			return deleted, err
		}
		deleted += n
	}
	return deleted, nil
}

func (s *Store) sweepDir(ctx context.Context, dir string) (int, error) {
	rel, err := filepath.Rel(s.root, dir)
	if err != nil {
		return 0, err
	}
	f := s.feed(filepath.ToSlash(rel))
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if err := s.load(f, dir, anyFormat); err != nil {
		f.loaded = false
		return 0, err
	}
	before := len(f.retired)
	s.collect(dir, f, s.opt.Now())
	return before - len(f.retired), nil
}
