package cli

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/infra/localrun"
	"github.com/ordoflow/ordo/journal"
)

// TestInitProject scaffolds a team project against this checkout, builds
// it, runs its own tests, and runs its workflow through its `ordo dev`,
// as a team would: only the public packages are used.
func TestInitProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests a scaffolded module (-short)")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool")
	}
	dir := filepath.Join(t.TempDir(), "concession")
	if err := run(t, App{}, "init", dir, "--ordo", ".."); err != nil {
		t.Fatal(err)
	}
	err := run(t, App{}, "init", dir)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("init into a non-empty directory: %v", err)
	}
	// Its template deploys the steps as "<platform stack>-<function>", the
	// names the platform's orchestrator invokes.
	tmpl, err := localrun.ParseTemplate(filepath.Join(dir, "template.yaml"), map[string]string{"PlatformStack": "plat"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range tmpl.Functions {
		names = append(names, f.Name+" "+f.CodeURI)
	}
	if got := strings.Join(names, ", "); got != "plat-concession-approve functions/concession-approve/, plat-concession-receive functions/concession-receive/" {
		t.Fatalf("the scaffolded template's functions: %s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	goCmd("mod", "tidy")
	goCmd("vet", "./...")
	goCmd("test", "-count=1", "./...")
	goCmd("build", "-o", "bin/concession", "./cmd/concession")

	addr := freeAddr(t)
	dev := exec.CommandContext(ctx, filepath.Join(dir, "bin", "concession"), "--db", filepath.Join(dir, "ordo.db"), "dev", "--addr", addr)
	dev.Dir = dir
	var logs strings.Builder
	dev.Stdout, dev.Stderr = &logs, &logs
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		dev.Process.Signal(os.Interrupt)
		dev.Wait()
	}()
	waitHTTP(t, "http://"+addr+"/v1/runs")
	start := exec.CommandContext(ctx, filepath.Join(dir, "bin", "concession"), "--db", filepath.Join(dir, "ordo.db"), "start", "concession", "--addr", addr,
		"--input", `{"id":"c-1","amountCents":1200}`)
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	c, _ := newAPIClient(ctx, addr, filepath.Join(dir, "ordo.db"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out struct{ Run journal.Run }
		if err := c.do(ctx, http.MethodGet, "/v1/runs/concession/c-1", nil, nil, "", &out); err != nil {
			t.Fatalf("%v (dev said: %s)", err, logs.String())
		}
		if out.Run.Status == journal.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run status %s after 20s (dev said: %s)", out.Run.Status, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
