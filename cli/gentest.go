package cli

import (
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/verify"
)

// genTestFile is the generated test's file name.
const genTestFile = "recorded_runs_test.go"

func genTestCmd(g *Env) *cobra.Command {
	var sel selection
	var out, pkg, setup, config string
	var distinct, openSealed bool
	cmd := &cobra.Command{
		Use:   "gen-test [RUN...] --out DIR",
		Short: "Write recorded runs as golden journals and a Go test that verifies them against the current code",
		Long: `gen-test writes each run named (or selected with --workflow/--status/
--since/--limit; --distinct keeps one run per path through the workflow)
to DIR/testdata/<run>.json, and writes DIR/` + genTestFile + `: a Go test that
checks every recording there with orchestratortest: the current definition
must decide what the journal recorded and each step attempt must give what
it gave then. --setup names the function that registers the definitions
and returns the step registry (default: the App's Setup).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if out == "" {
				return fmt.Errorf("--out DIR is required")
			}
			imp, fn, err := verify.ParseSetup(setup)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(config)
			if err != nil {
				return err
			}
			c, err := loadCode(g)
			if err != nil {
				return err
			}
			s, closeStore, err := g.readStore(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			runs, err := sel.runs(ctx, s, args)
			if err != nil {
				return err
			}
			recs, err := recordings(ctx, s, c, runs, cfg, distinct)
			if err != nil {
				return err
			}
			if openSealed {
				if err := openRecordings(ctx, g.db, recs); err != nil {
					return err
				}
			}
			if pkg == "" {
				if pkg, err = packageOf(out); err != nil {
					return err
				}
			}
			if err := writeGenerated(out, recs, verify.TestSource{Package: pkg, SetupImport: imp, SetupFunc: fn}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "gen-test: %d recordings in %s, test %s; run: go test ./%s\n",
				len(recs), filepath.Join(out, "testdata"), filepath.Join(out, genTestFile), filepath.Clean(out))
			return nil
		},
	}
	sel.flags(cmd)
	cmd.Flags().StringVar(&out, "out", "", "directory of the generated test (created if needed)")
	cmd.Flags().StringVar(&pkg, "package", "", "package name of the generated test (default: from the directory)")
	cmd.Flags().StringVar(&setup, "setup", g.app.Setup, "import/path.Func that registers definitions and returns the step registry")
	cmd.Flags().StringVar(&config, "config", "", "verify configuration (volatile fields, steps not re-executed); default ./ordo.verify.yaml if present")
	cmd.Flags().BoolVar(&distinct, "distinct", false, "keep one run per distinct path through the workflow")
	cmd.Flags().BoolVar(&openSealed, "open-sealed", false, "write sensitive values in clear, opened with the journal's sealing key beside --db, so the steps that "+
		"receive them are re-executed too: only for journals of test data (default: recorded as [redacted], those attempts skipped)")
	return cmd
}

// openRecordings opens the sealed values of recs with the sealing key
// beside the journal file db (--open-sealed).
func openRecordings(ctx context.Context, db string, recs []*verify.Recording) error {
	keys, err := localkey.ReadFile(db + ".sealing-key")
	if err != nil {
		return fmt.Errorf("--open-sealed: the journal's sealing key: %w", err)
	}
	for _, rec := range recs {
		if err := rec.Open(ctx, keys); err != nil {
			return fmt.Errorf("--open-sealed: %w", err)
		}
	}
	return nil
}

// recordings reads the runs, keeping one per shape when distinct is set.
func recordings(ctx context.Context, store journal.Store, c *code, runs []string, cfg verify.Config, distinct bool) ([]*verify.Recording, error) {
	seen := map[string]bool{}
	var out []*verify.Recording
	for _, run := range runs {
		rec, err := verify.Record(ctx, store, run)
		if err != nil {
			return nil, err
		}
		if _, err := c.definition(run, rec.Run.Workflow); err != nil {
			return nil, err
		}
		if distinct {
			shape := rec.Run.Workflow + " " + rec.Shape()
			if seen[shape] {
				continue
			}
			seen[shape] = true
		}
		rec.Config = cfg.Only(rec.Run.Workflow)
		out = append(out, rec)
	}
	return out, nil
}

// packageOf is the package of the Go files already in dir (tests of an
// external test package count as their package), else a name made from
// the directory's.
func packageOf(dir string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	fset := token.NewFileSet()
	for _, f := range files {
		if filepath.Base(f) == genTestFile {
			continue
		}
		ast, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly)
		if err != nil {
			return "", fmt.Errorf("--out %s: %w", dir, err)
		}
		return strings.TrimSuffix(ast.Name.Name, "_test"), nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return verify.PackageName(filepath.Base(abs)), nil
}

func writeGenerated(dir string, recs []*verify.Recording, src verify.TestSource) error {
	data := filepath.Join(dir, "testdata")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	for _, rec := range recs {
		if err := writeRecording(filepath.Join(data, verify.FileName(rec.Run.ID)), rec); err != nil {
			return err
		}
	}
	test, err := verify.GenerateTest(src)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, genTestFile), test, 0o644)
}

func writeRecording(path string, rec *verify.Recording) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rec.Write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
