package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// replayReport is one run's replay in `ordo replay --format json`.
type replayReport struct {
	Run   string        `json:"run"`
	OK    bool          `json:"ok"`
	Error string        `json:"error,omitempty"`
	Drift *verify.Drift `json:"drift,omitempty"`
}

func replayCmd(g *Env) *cobra.Command {
	var sel selection
	var defArg, runsArg, format string
	var ignore []string
	cmd := &cobra.Command{
		Use:   "replay --definition FILE|NAME@VERSION|HASH [--runs RUN,...]",
		Short: "Check that recorded runs decide the same under another definition version",
		Long: `replay re-folds each recorded run commit by commit and asks the given
definition (a YAML/JSON file, or a stored version as name@version or hash)
what to do at each decision the engine made: it must decide exactly what
the journal recorded. On drift it names the run, the first divergent event
and why. Runs: --runs, else the definition's workflow's recent runs
(--status, --since, --limit). Run it before deploying a new version.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if defArg == "" {
				return errors.New("--definition is required (a file, name@version or a hash)")
			}
			s, closeStore, err := g.readStore(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			def, err := resolveDefinition(ctx, s, defArg)
			if err != nil {
				return err
			}
			var named []string
			if runsArg != "" {
				named = strings.Split(runsArg, ",")
			}
			if sel.workflow == "" {
				sel.workflow = def.Name
			}
			runs, err := sel.runs(ctx, s, named)
			if err != nil {
				return err
			}
			var reps []replayReport
			bad := 0
			for _, run := range runs {
				rr := replayRun(ctx, s, def, run, verify.Ignoring(ignore...))
				if !rr.OK {
					bad++
				}
				reps = append(reps, rr)
			}
			if err := printReplay(cmd.OutOrStdout(), format, def, reps); err != nil {
				return err
			}
			if bad > 0 {
				return fmt.Errorf("%w: %d of %d runs decide differently under %s@%s", errMismatch, bad, len(runs), def.Name, def.Version)
			}
			return nil
		},
	}
	sel.flags(cmd)
	cmd.Flags().StringVar(&defArg, "definition", "", "the definition to check: a YAML/JSON file, name@version, or a stored hash")
	cmd.Flags().StringSliceVar(&ignore, "ignore", nil, "event fields not compared, e.g. due (retry and timer times) when only intervals changed")
	cmd.Flags().StringVar(&runsArg, "runs", "", "comma-separated runs to replay (default: the workflow's recent runs)")
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	return cmd
}

func replayRun(ctx context.Context, store journal.Store, def *workflow.Definition, run string, opts ...verify.ReplayOption) replayReport {
	rr := replayReport{Run: run}
	rec, err := verify.Record(ctx, store, run)
	if err == nil && rec.Run.Workflow != def.Name {
		err = fmt.Errorf("run %s is of workflow %q, not %q", run, rec.Run.Workflow, def.Name)
	}
	if err == nil {
		err = verify.Replay(rec, def, opts...)
	}
	var d *verify.Drift
	switch {
	case errors.As(err, &d):
		rr.Drift, rr.Error = d, err.Error()
	case err != nil:
		rr.Error = err.Error()
	default:
		rr.OK = true
	}
	return rr
}

func printReplay(w io.Writer, format string, def *workflow.Definition, reps []replayReport) error {
	switch format {
	case "json":
		return printJSONTo(w, reps)
	case "text":
		ok := 0
		for _, r := range reps {
			if r.OK {
				ok++
				fmt.Fprintf(w, "ok     %s\n", r.Run)
				continue
			}
			label := "ERROR "
			if r.Drift != nil {
				label = "DRIFT "
			}
			fmt.Fprintf(w, "%s %s\n", label, r.Error)
		}
		fmt.Fprintf(w, "replay: %d of %d runs decide the same under %s@%s (%s)\n", ok, len(reps), def.Name, def.Version, shortHash(def.Hash()))
		return nil
	}
	return fmt.Errorf("--format %q: want text or json", format)
}

func shortHash(h string) string {
	if len(h) > 19 {
		return h[:19] // sha256: and 12 hex digits
	}
	return h
}

// resolveDefinition loads a definition from a file, or from the journal by
// name@version or by hash (or a unique hash prefix).
func resolveDefinition(ctx context.Context, store journal.Store, arg string) (*workflow.Definition, error) {
	if _, err := os.Stat(arg); err == nil {
		return workflow.LoadFile(arg)
	}
	stored, err := store.Definitions(ctx, "")
	if err != nil {
		return nil, err
	}
	name, version, byVersion := strings.Cut(arg, "@")
	var found []journal.Definition
	for _, d := range stored {
		if byVersion && d.Name == name && d.Version == version || !byVersion && strings.HasPrefix(d.Hash, arg) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("--definition %q: no such file, and no stored definition by that name@version or hash", arg)
	case 1:
		return workflow.Load(found[0].JSON, found[0].Name+"@"+found[0].Version)
	}
	if byVersion {
		return workflow.Load(found[0].JSON, found[0].Name+"@"+found[0].Version) // newest first
	}
	return nil, fmt.Errorf("--definition %q: the hash prefix matches %d definitions", arg, len(found))
}
