//go:build !linux

package testenv

import (
	"os"
	"syscall"
)

// groupProcAttr has nothing to add outside Linux.
func groupProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process pid (its children are not reached).
func killGroup(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
