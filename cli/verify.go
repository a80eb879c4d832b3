package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/verify"
	"github.com/ordoflow/ordo/orchestrator/workflow"
)

// errMismatch makes the exit code say that some recorded behaviour did not
// match (the details are printed).
var errMismatch = errors.New("recorded runs do not match the current code")

// code is the code about to be deployed: the step functions and the
// definitions built with them, by workflow name.
type code struct {
	reg  *step.Registry
	defs map[string]*workflow.Definition
}

// loadCode loads the code to verify against: the App's steps and
// definitions (a variable so tests can change a step).
var loadCode = appCode

func appCode(app App) (*code, error) {
	reg := step.NewRegistry()
	if app.Register != nil {
		app.Register(reg)
	}
	c := &code{reg: reg, defs: map[string]*workflow.Definition{}}
	if app.Definitions == nil {
		return c, nil
	}
	defs, err := app.Definitions(reg)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		c.defs[d.Name] = d
	}
	return c, nil
}

// definition returns the current definition of workflow, or an error that
// says it no longer exists.
func (c *code) definition(run, wf string) (*workflow.Definition, error) {
	d, ok := c.defs[wf]
	if !ok {
		return nil, fmt.Errorf("%w: run %s is of workflow %q, which the current code does not define", verify.ErrUnknownWorkflow, run, wf)
	}
	return d, nil
}

// selection is how a command picks recorded runs: named, or by query.
type selection struct {
	workflow, status, since string
	limit                   int
}

func (s *selection) flags(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&s.workflow, "workflow", "w", "", "runs of this workflow (when no RUN is named)")
	cmd.Flags().StringVarP(&s.status, "status", "s", "", "only runs in this status")
	cmd.Flags().StringVar(&s.since, "since", "", "only runs updated since this time (RFC 3339) or this long ago (24h)")
	cmd.Flags().IntVar(&s.limit, "limit", 50, "at most this many runs")
}

// runs returns the named runs, or those the flags select.
func (s *selection) runs(ctx context.Context, store journal.Store, named []string) ([]string, error) {
	if len(named) > 0 {
		return named, nil
	}
	if s.workflow == "" {
		return nil, errors.New("name a RUN or select runs with --workflow")
	}
	q := journal.Query{Workflow: s.workflow, Status: journal.Status(s.status), Limit: s.limit}
	if s.since != "" {
		t, err := parseSince(s.since, time.Now())
		if err != nil {
			return nil, err
		}
		q.Since = t
	}
	var out []string
	for len(out) < s.limit {
		page, next, err := store.Runs(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range page {
			if len(out) < s.limit {
				out = append(out, r.ID)
			}
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no runs of workflow %q match", s.workflow)
	}
	return out, nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want an RFC 3339 time or a duration such as 24h", s)
	}
	return t, nil
}

func loadRules(path string) (verify.Rules, error) {
	if path == "" {
		if _, err := os.Stat("ordo.verify.yaml"); err != nil {
			return nil, nil
		}
		path = "ordo.verify.yaml"
	}
	return verify.LoadRules(path)
}

// runReport is one run's verification in `ordo verify --format json`.
type runReport struct {
	Run    string         `json:"run"`
	Error  string         `json:"error,omitempty"`
	Checks []verify.Check `json:"checks,omitempty"`
}

type verifyReport struct {
	Runs    []runReport `json:"runs"`
	Passed  int         `json:"passed"`
	Failed  int         `json:"failed"`
	Skipped int         `json:"skipped"`
	Errors  int         `json:"errors"`
}

func verifyCmd(g *Env) *cobra.Command {
	var sel selection
	var format, config string
	cmd := &cobra.Command{
		Use:   "verify [RUN...]",
		Short: "Re-execute recorded step attempts through the current step code and diff the results",
		Long: `verify takes each recorded step attempt of the runs named (or selected
with --workflow/--status/--since/--limit), runs its recorded input, state,
attempt number and idempotency key through the current implementation of
the step, and compares the output, state patch and effects (or the error)
with the journal's. Fields declared volatile in --config (default
./ordo.verify.yaml when present) are not compared. The exit code is 0 only
when every attempt matched.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			rules, err := loadRules(config)
			if err != nil {
				return err
			}
			c, err := loadCode(g.app)
			if err != nil {
				return err
			}
			s, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			runs, err := sel.runs(ctx, s, args)
			if err != nil {
				return err
			}
			v := &verify.Verifier{Invoker: embedded.Invoker{Registry: c.reg}, Rules: rules}
			rep := verifyReport{}
			for _, run := range runs {
				rr := verifyRun(ctx, s, c, v, run)
				rep.add(rr)
			}
			return rep.print(cmd.OutOrStdout(), format)
		},
	}
	sel.flags(cmd)
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	cmd.Flags().StringVar(&config, "config", "", "verify configuration (volatile fields); default ./ordo.verify.yaml if present")
	return cmd
}

func verifyRun(ctx context.Context, store journal.Store, c *code, v *verify.Verifier, run string) runReport {
	rr := runReport{Run: run}
	rec, err := verify.Record(ctx, store, run)
	if err == nil {
		var def *workflow.Definition
		if def, err = c.definition(run, rec.Run.Workflow); err == nil {
			rr.Checks, err = v.Steps(ctx, rec, def)
		}
	}
	if err != nil {
		rr.Error = err.Error()
	}
	return rr
}

func (r *verifyReport) add(rr runReport) {
	r.Runs = append(r.Runs, rr)
	if rr.Error != "" {
		r.Errors++
	}
	for _, c := range rr.Checks {
		switch c.Outcome {
		case verify.Pass:
			r.Passed++
		case verify.Fail:
			r.Failed++
		default:
			r.Skipped++
		}
	}
}

func (r *verifyReport) print(w io.Writer, format string) error {
	switch format {
	case "json":
		if err := printJSONTo(w, r); err != nil {
			return err
		}
	case "text":
		for _, rr := range r.Runs {
			if rr.Error != "" {
				fmt.Fprintf(w, "%s\n  ERROR %s\n", rr.Run, rr.Error)
				continue
			}
			fmt.Fprintln(w, rr.Run)
			for _, c := range rr.Checks {
				fmt.Fprintf(w, "  %s\n", c)
			}
		}
		fmt.Fprintf(w, "verify: %d runs, %d attempts: %d passed, %d failed, %d skipped; %d runs could not be verified\n",
			len(r.Runs), r.Passed+r.Failed+r.Skipped, r.Passed, r.Failed, r.Skipped, r.Errors)
	default:
		return fmt.Errorf("--format %q: want text or json", format)
	}
	if r.Failed > 0 || r.Errors > 0 {
		return fmt.Errorf("%w: %d attempts differ, %d runs could not be verified", errMismatch, r.Failed, r.Errors)
	}
	return nil
}

func printJSONTo(w io.Writer, v any) error {
	enc := jsonEncoder(w)
	return enc.Encode(v)
}

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
			s, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
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
				rr := replayRun(ctx, s, def, run)
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
	cmd.Flags().StringVar(&runsArg, "runs", "", "comma-separated runs to replay (default: the workflow's recent runs)")
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	return cmd
}

func replayRun(ctx context.Context, store journal.Store, def *workflow.Definition, run string) replayReport {
	rr := replayReport{Run: run}
	rec, err := verify.Record(ctx, store, run)
	if err == nil && rec.Run.Workflow != def.Name {
		err = fmt.Errorf("run %s is of workflow %q, not %q", run, rec.Run.Workflow, def.Name)
	}
	if err == nil {
		err = verify.Replay(rec, def)
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

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
