package testenv

import "syscall"

// sysProcAttr makes the kernel kill a server if the test binary dies without
// running its cleanups (for example when "go test -timeout" panics).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
