//go:build !linux

package feeds

import "os"

// beneath has no fast path outside Linux: every open goes through os.Root.
type beneath struct{}

func openBeneath(string) (*beneath, error) { return &beneath{}, nil }

func (*beneath) open(string) (*os.File, error) { return nil, errUnsupported }

func (*beneath) close() error { return nil }

type fileKey struct{}

func (*beneath) stat(string) (fileKey, error) { return fileKey{}, errUnsupported }

func keyOf(*os.File) (fileKey, error) { return fileKey{}, errUnsupported }
