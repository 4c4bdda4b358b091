package demo

import (
	"os/exec"
	"syscall"
)

// endWithParent makes the kernel send cmd's process SIGTERM when the
// demo's process dies, so a demo killed with SIGKILL leaves no child
// running.
func endWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGTERM
}
