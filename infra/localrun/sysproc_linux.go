package localrun

import "syscall"

// sysProcAttr makes a bootstrap die with the runner (no orphans on a crash).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
