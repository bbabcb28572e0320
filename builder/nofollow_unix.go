//go:build unix

package builder

import "syscall"

// noFollow makes opening a collected file fail rather than follow a symlink placed there.
const noFollow = syscall.O_NOFOLLOW
