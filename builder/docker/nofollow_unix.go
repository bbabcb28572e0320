//go:build unix

package docker

import "syscall"

// noFollow makes opening a collected file fail rather than follow a symlink placed there.
const noFollow = syscall.O_NOFOLLOW
