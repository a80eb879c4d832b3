package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
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
// definitions, with the functions --steps (ORDO_STEP_URLS) maps invoked
// over HTTP instead (a variable so tests can change a step).
var loadCode = envCode

func envCode(g *Env) (*code, error) {
	m, err := g.stepURLs()
	if err != nil {
		return nil, err
	}
	reg := step.NewRegistry()
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	if g.app.Register != nil {
		own := step.NewRegistry()
		g.app.Register(own)
		for _, name := range own.Names() {
			if !reg.Has(name) { // the HTTP one is what is verified
				h, _ := own.Lookup(name)
				reg.Register(name, h)
			}
		}
	}
	c := &code{reg: reg, defs: map[string]*workflow.Definition{}}
	if g.app.Definitions == nil {
		return c, nil
	}
	defs, err := g.app.Definitions(reg)
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
	cmd.Flags().StringVarP(&s.workflow, "workflow", "w", "", "runs of this workflow, or of each in a comma-separated list (when no RUN is named)")
	cmd.Flags().StringVarP(&s.status, "status", "s", "", "only runs in this status")
	cmd.Flags().StringVar(&s.since, "since", "", "only runs updated since this time (RFC 3339) or this long ago (24h)")
	cmd.Flags().IntVar(&s.limit, "limit", 50, "at most this many runs (of each workflow)")
}

// runs returns the named runs, or those the flags select (of each
// workflow in a comma-separated --workflow, up to --limit each).
func (s *selection) runs(ctx context.Context, store journal.Store, named []string) ([]string, error) {
	if len(named) > 0 {
		return named, nil
	}
	if s.workflow == "" {
		return nil, errors.New("name a RUN or select runs with --workflow")
	}
	q := journal.Query{Status: journal.Status(s.status), Limit: s.limit}
	if s.since != "" {
		t, err := parseSince(s.since, time.Now())
		if err != nil {
			return nil, err
		}
		q.Since = t
	}
	var out []string
	for _, wf := range strings.Split(s.workflow, ",") {
		q.Workflow, q.Cursor = wf, ""
		runs, err := s.list(ctx, store, q)
		if err != nil {
			return nil, err
		}
		if len(runs) == 0 {
			return nil, fmt.Errorf("no runs of workflow %q match", wf)
		}
		out = append(out, runs...)
	}
	return out, nil
}

// list pages through q's runs, up to s.limit.
func (s *selection) list(ctx context.Context, store journal.Store, q journal.Query) ([]string, error) {
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

// loadConfig reads the verify configuration: path, else
// ./ordo.verify.yaml when it exists.
func loadConfig(path string) (verify.Config, error) {
	if path == "" {
		if _, err := os.Stat("ordo.verify.yaml"); err != nil {
			return verify.Config{}, nil
		}
		path = "ordo.verify.yaml"
	}
	return verify.LoadConfig(path)
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
	var quiet bool
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
			v := &verify.Verifier{Invoker: embedded.Invoker{Registry: c.reg}, Config: cfg}
			// The steps get the sealed values of recorded inputs in clear
			// when the journal's sealing key is here (never created by
			// verify: it only reads).
			if keys, err := localkey.ReadFile(g.db + ".sealing-key"); err == nil {
				v.Sealer = keys
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			rep := verifyReport{}
			for _, run := range runs {
				rr := verifyRun(ctx, s, c, v, run)
				rep.add(rr)
			}
			return rep.print(cmd.OutOrStdout(), format, quiet)
		},
	}
	sel.flags(cmd)
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	cmd.Flags().StringVar(&config, "config", "", "verify configuration (volatile fields, steps not re-executed); default ./ordo.verify.yaml if present")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "print only the attempts that differ, runs that could not be verified and the summary")
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

func (r *verifyReport) print(w io.Writer, format string, quiet bool) error {
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
			var lines []string
			for _, c := range rr.Checks {
				if !quiet || c.Outcome == verify.Fail {
					lines = append(lines, "  "+c.String())
				}
			}
			if len(lines) > 0 {
				fmt.Fprintf(w, "%s\n%s\n", rr.Run, strings.Join(lines, "\n"))
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

func jsonEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc
}
