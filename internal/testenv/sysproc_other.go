//go:build !linux

package testenv

import "syscall"

// sysProcAttr has nothing to add outside Linux: servers are stopped by the
// test cleanups only.
func sysProcAttr() *syscall.SysProcAttr { return nil }
