package localrun

import (
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

//go:embed noderuntime.js
var nodeRuntime []byte

// nodeBootstrap prepares a Node function (Runtime nodejs*): its code runs
// from its CodeUri directory (LAMBDA_TASK_ROOT) under the local node,
// driven by localrun's runtime-interface client, which plays the part of
// the managed runtime. It returns the bootstrap to supervise and the task
// root.
func nodeBootstrap(t *Template, f *FunctionSpec, buildDir string) (bin, taskRoot string, err error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", fmt.Errorf("function %s (%s): no node on PATH to run it", f.LogicalID, f.Runtime)
	}
	taskRoot = f.CodeURI
	if !filepath.IsAbs(taskRoot) {
		taskRoot = filepath.Join(t.Dir, taskRoot)
	}
	if st, err := os.Stat(taskRoot); err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("function %s: CodeUri %s is not a directory", f.LogicalID, taskRoot)
	}
	dir := filepath.Join(buildDir, "node", f.LogicalID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	rt := filepath.Join(dir, "runtime.js")
	if err := os.WriteFile(rt, nodeRuntime, 0o644); err != nil {
		return "", "", err
	}
	bin = filepath.Join(dir, "bootstrap")
	script := "#!/bin/sh\nexec " + strconv.Quote(node) + " " + strconv.Quote(rt) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		return "", "", err
	}
	return bin, taskRoot, nil
}

// handler is the function's _HANDLER: its Handler for managed runtimes,
// "bootstrap" for custom ones.
func handler(f *FunctionSpec) string {
	if f.IsNode() && f.Handler != "" {
		return f.Handler
	}
	return "bootstrap"
}
