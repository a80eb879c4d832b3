//go:build !linux

package localrun

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
