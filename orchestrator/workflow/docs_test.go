package workflow_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// TestDocsExample keeps docs/definitions.md honest: its complete example
// loads, equals testdata/order.yaml and hashes as the doc says.
func TestDocsExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "definitions.md"))
	if err != nil {
		t.Fatalf("docs/definitions.md must be readable from the test (its examples are checked here): %v", err)
	}
	_, section, ok := strings.Cut(string(doc), "## A complete example")
	if !ok {
		t.Fatal(`docs/definitions.md has no "A complete example" section`)
	}
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("the complete example has no yaml block")
	}
	def, err := workflow.Load([]byte(m[1]), "docs/definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	if got := def.Hash(); got != orderHash {
		t.Errorf("the documented example hashes %s, want %s (testdata/order.yaml)", got, orderHash)
	}
	if short := orderHash[:len("sha256:")+8]; !strings.Contains(section, short) {
		t.Errorf("the complete example does not quote the hash %s…", short)
	}
}
