package testenv

import "syscall"

// groupProcAttr starts a program in a process group of its own (so that
// killGroup reaches the helpers it forks, as a browser does), killed with
// the test binary.
func groupProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills every process of the group pid leads.
func killGroup(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
