package workflows_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

var update = flag.Bool("update", false, "rewrite the golden definitions in testdata/")

// TestDefinitionsGolden pins each definition's canonical JSON. Runs pin the
// definition they started with by hash, so a change here is a new workflow
// version: bump its Version, then refresh the files with
//
//	go test ./workflows -run Golden -update
func TestDefinitionsGolden(t *testing.T) {
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		var got bytes.Buffer
		if err := json.Indent(&got, d.CanonicalJSON(), "", "  "); err != nil {
			t.Fatal(err)
		}
		got.WriteByte('\n')
		path := filepath.Join("testdata", d.Name+".definition.json")
		if *update {
			if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("definition %s@%s (%s) differs from %s: if the change is meant, bump the version and run with -update\ngot:\n%s",
				d.Name, d.Version, d.Hash(), path, got.Bytes())
		}
	}
}
