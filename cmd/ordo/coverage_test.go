package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/cli"
	"github.com/ordoflow/ordo/workflows"
)

// TestGeneratedTestsCoverTheSteps records a day's mixed demo traffic,
// generates tests from one run of each path and checks that they cover at
// least 80% of the OMS step code's statements (scripts/verify-coverage.sh
// prints the figure).
func TestGeneratedTestsCoverTheSteps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go command")
	}
	db := filepath.Join(t.TempDir(), "demo.db")
	var g *cli.Env
	root := cli.Command(cli.App{Register: workflows.Register, Definitions: workflows.Definitions,
		Setup:    "github.com/ordoflow/ordo/workflows.Setup",
		Commands: []func(*cli.Env) *cobra.Command{func(e *cli.Env) *cobra.Command { g = e; return demoCmd(e) }}})
	g.SetDB(db)
	if _, err := runDemoWith(t.Context(), g, 300, 16, demoSampler(true)); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(".", "_gentest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, "regress")
	var msg bytes.Buffer
	root.SetOut(&msg)
	root.SetArgs([]string{"--db", db, "gen-test", "--workflow", "order,refund,return", "--limit", "300", "--distinct", "--open-sealed", "--out", out})
	if err := root.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("gen-test: %v\n%s", err, msg.String())
	}
	profile := filepath.Join(t.TempDir(), "cover.out")
	cmd := exec.Command("go", "test", "-count=1", "-coverprofile="+profile,
		"-coverpkg=../../workflows/order,../../workflows/refund,../../workflows/return,../../workflows/internal/oms", "./"+filepath.ToSlash(out))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the generated tests: %v\n%s", err, b)
	}
	got, err := statementCoverage(profile)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated tests cover %.1f%% of the OMS step code", got)
	if got < 80 {
		t.Errorf("generated tests cover %.1f%% of the step code, want at least 80%%", got)
	}
}

// statementCoverage reads a cover profile: the percentage of statements
// run at least once.
func statementCoverage(profile string) (float64, error) {
	b, err := os.ReadFile(profile)
	if err != nil {
		return 0, err
	}
	var total, covered int
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
		var n, count int
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return 0, fmt.Errorf("cover profile line %q", line)
		}
		fmt.Sscan(fields[1], &n)
		fmt.Sscan(fields[2], &count)
		total += n
		if count > 0 {
			covered += n
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("cover profile %s counts no statements", profile)
	}
	return 100 * float64(covered) / float64(total), nil
}
