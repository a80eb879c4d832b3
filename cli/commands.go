package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/internal/suggest"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/visualizer"
)

func devCmd(g *Env) *cobra.Command {
	var addr, traces, otlpURL string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded orchestrator with its HTTP API until interrupted",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			metrics := g.prometheus()
			stopTraces, err := g.traceTo(ctx, traces, otlpURL)
			if err != nil {
				return err
			}
			defer stopTraces()
			a, err := g.Open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			runsGauge(metrics, a.Store)
			n, err := a.Resume(ctx)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			tokens, err := api.LoadTokenFile(tokenFile(g.db))
			if err != nil {
				return err
			}
			// The browser of whoever started the server logs in once through a
			// printed link (an HttpOnly, SameSite=Strict session cookie, the
			// operator role); the CLI keeps its bearer tokens.
			login := api.NewBrowserLogin("local-browser", api.Operator)
			srv := devServer(login.Handler(withMetrics(metrics, visualizer.Mount(api.New(a.Engine, a.Runtime, a.Runtime, api.WithRedeliverer(localRedeliverer{a}),
				api.WithAuthenticator(api.Either(tokens.Tokens(), login)), api.WithFunctions(a.Registry.Has), api.WithFunctionNames(a.Registry.Names))))))
			fmt.Printf("ordo dev: journal %s, %d unfinished runs resumed, API on http://%s/v1/runs, metrics at /metrics\n", g.db, n, ln.Addr())
			fmt.Printf("ordo dev: bearer tokens (viewer, operator, admin) in %s; the CLI reads them from there\n", tokenFile(g.db))
			fmt.Printf("ordo dev: web UI: open %s (a one-time login link, valid %s)\n", login.LoginURL("http://"+ln.Addr().String()), api.LoginTTL)
			// Definitions pushed while the server runs apply to new runs.
			go func() {
				t := time.NewTicker(2 * time.Second)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						if err := a.Engine.Refresh(ctx); err != nil && ctx.Err() == nil {
							fmt.Fprintln(os.Stderr, "ordo dev:", err)
						}
					}
				}
			}()
			return serveUntil(ctx, srv, ln)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	cmd.Flags().StringVar(&traces, "traces", "", "write an OpenTelemetry trace per run (commits, steps, effects) to this file, as JSON lines")
	cmd.Flags().StringVar(&otlpURL, "otlp", "", "send each run's trace to an OpenTelemetry collector over OTLP/HTTP at this URL (e.g. http://localhost:4318); default: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
	return cmd
}

// serveUntil serves srv on ln until ctx ends, then shuts it down (giving
// requests in flight five seconds).
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readInput reads a JSON argument: literal JSON, or @file.
func readInput(s string) (json.RawMessage, error) {
	b := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if b, err = os.ReadFile(name); err != nil {
			return nil, err
		}
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("input %q is not valid JSON", truncate(s, 60))
	}
	return b, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func startCmd(g *Env) *cobra.Command {
	var input, key, addr string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "start WORKFLOW",
		Short: "Start a run and drive it until it settles (or --wait elapses); with --addr, start it on that server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			in, err := readInput(input)
			if err != nil {
				return err
			}
			if addr != "" {
				return startRemote(ctx, addr, g.db, args[0], key, in)
			}
			a, err := g.Open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
			st, err := a.Start(ctx, orchestrator.StartRequest{Workflow: args[0], Input: in, Key: key, Trigger: "cli:" + uuid.NewString()})
			if err != nil {
				return err
			}
			status, err := a.settle(ctx, st.Run, wait)
			if err != nil {
				return err
			}
			fmt.Printf("run %s: %s (new: %t)\n", st.Run, status, st.Created)
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "{}", "run input: JSON or @file")
	cmd.Flags().StringVarP(&key, "key", "k", "", "run key: starting the same key again reports the existing run (default: the workflow's key expression over the input, else a new id)")
	cmd.Flags().DurationVar(&wait, "wait", 30*time.Second, "how long to drive the run before returning")
	cmd.Flags().StringVar(&addr, "addr", os.Getenv("ORDO_ADDR"),
		"start the run on a running `ordo dev` (host:port) or the platform's API URL (https://…, SigV4-signed); env ORDO_ADDR")
	return cmd
}

// startRemote starts a run through the API; the server drives it.
func startRemote(ctx context.Context, addr, db, wf, key string, in json.RawMessage) error {
	c, err := newAPIClient(ctx, addr, db)
	if err != nil {
		return err
	}
	var out struct {
		Run     string `json:"run"`
		Created bool   `json:"created"`
		Status  string `json:"status"`
	}
	if err := c.postJSON(ctx, "/v1/runs", map[string]any{"workflow": wf, "input": in, "key": key}, &out); err != nil {
		return err
	}
	fmt.Printf("run %s: %s (new: %t)\n", out.Run, out.Status, out.Created)
	return nil
}

func runsCmd(g *Env) *cobra.Command {
	var wf, status, format, addr string
	var limit int
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, most recently updated first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := parseStatus(status); err != nil {
				return err
			}
			runs, err := g.listRuns(cmd, addr, wf, status, limit)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(runs)
			case "table":
				tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RUN\tWORKFLOW\tSTATUS\tCOMMITS\tUPDATED")
				for _, r := range runs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.ID, r.Workflow, r.Status, r.Seq, r.Updated.Format(time.RFC3339))
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: want table or json", format)
		},
	}
	cmd.Flags().StringVarP(&wf, "workflow", "w", "", "only runs of this workflow")
	cmd.Flags().StringVarP(&status, "status", "s", "", "only runs in this status (running, review, completed, ...)")
	cmd.Flags().StringVarP(&format, "format", "o", "table", "table or json")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many runs")
	addrFlag(cmd, &addr)
	return cmd
}

// listRuns lists runs through the API at addr, or from the journal; flags
// are checked first, so a typo is an error rather than an empty table.
func (g *Env) listRuns(cmd *cobra.Command, addr, wf, status string, limit int) ([]journal.Run, error) {
	ctx := cmd.Context()
	if addr != "" {
		q, err := g.runsQuery(ctx, nil, "", status)
		if err != nil {
			return nil, err
		}
		c, err := newAPIClient(ctx, addr, g.db)
		if err != nil {
			return nil, err
		}
		v := url.Values{}
		v.Set("workflow", wf)
		v.Set("status", string(q.Status))
		v.Set("limit", fmt.Sprint(limit))
		var out struct {
			Runs []journal.Run `json:"runs"`
		}
		return out.Runs, c.do(ctx, http.MethodGet, "/v1/runs", v, nil, "", &out)
	}
	s, done, err := g.readStore(cmd)
	if err != nil {
		return nil, err
	}
	defer done()
	q, err := g.runsQuery(ctx, s, wf, status)
	if err != nil {
		return nil, err
	}
	q.Limit = limit
	runs, _, err := s.Runs(ctx, q)
	return runs, err
}

// printJSON prints v indented, sealed values (package sensitive) as
// "[redacted]".
func printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(append(sensitive.Redact(b), '\n'))
	return err
}

func showCmd(g *Env) *cobra.Command {
	var format, addr string
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's timeline: every event, each step's input, output and state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			head, events, err := g.loadRun(cmd, addr, args[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				out := make([]api.Event, len(events))
				for i, e := range events {
					out[i] = api.Event{Seq: e.Seq, Event: e}
				}
				return printJSON(map[string]any{"run": head, "events": out})
			case "text":
				printTimeline(head, events)
				return nil
			}
			return fmt.Errorf("--format %q: want text or json", format)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "text", "text or json")
	addrFlag(cmd, &addr)
	return cmd
}

func (g *Env) loadRun(cmd *cobra.Command, addr, run string) (journal.Run, []journal.Event, error) {
	ctx := cmd.Context()
	if addr != "" {
		path, err := runPath(run, "")
		if err != nil {
			return journal.Run{}, nil, err
		}
		c, err := newAPIClient(ctx, addr, g.db)
		if err != nil {
			return journal.Run{}, nil, err
		}
		var out struct {
			Run    journal.Run `json:"run"`
			Events []api.Event `json:"events"`
		}
		if err := c.do(ctx, http.MethodGet, strings.TrimSuffix(path, "/"), nil, nil, "", &out); err != nil {
			return journal.Run{}, nil, err
		}
		events := make([]journal.Event, len(out.Events))
		for i, e := range out.Events {
			events[i] = e.Event
			events[i].Seq = e.Seq
		}
		return out.Run, events, nil
	}
	s, done, err := g.readStore(cmd)
	if err != nil {
		return journal.Run{}, nil, err
	}
	defer done()
	return s.Load(ctx, run)
}

func printTimeline(head journal.Run, events []journal.Event) {
	fmt.Printf("run %s  workflow %s  status %s  definition %s\n", head.ID, head.Workflow, head.Status, short(head.DefHash))
	var t0 time.Time
	for _, e := range events {
		if t0.IsZero() {
			t0 = e.At
		}
		line := fmt.Sprintf("%4d %9s  %-16s", e.Seq, "+"+e.At.Sub(t0).Round(time.Microsecond).String(), e.Kind)
		if e.Step != "" {
			line += " " + e.Step
			if e.Index > 0 {
				line += fmt.Sprintf("[%d]", e.Index)
			}
			line += fmt.Sprintf("#%d", e.Attempt)
			if e.Compensation {
				line += " (compensation)"
			}
		}
		if e.Name != "" {
			line += " " + e.Name
		}
		if e.Child != "" {
			line += " → " + e.Child
		}
		fmt.Println(line)
		detail := func(label string, v []byte) {
			if len(v) > 0 && string(v) != "null" {
				fmt.Printf("%22s %-7s %s\n", "", label, truncate(sensitive.RedactText(string(v)), 160))
			}
		}
		detail("input", e.Input)
		detail("output", e.Output)
		detail("state", e.State)
		for _, ef := range e.Effects {
			detail("effect", []byte(fmt.Sprintf("%s %s → %s %s", ef.ID, ef.Kind, ef.Target, ef.Payload)))
		}
		if e.Error != nil {
			detail("error", []byte(fmt.Sprintf("%s (kind %q, terminal %t)", e.Error.Message, e.Error.Kind, e.Error.Terminal)))
		}
		if !e.Due.IsZero() {
			detail("due", []byte(e.Due.Format(time.RFC3339Nano)))
		}
		if e.Reason != "" {
			detail("reason", []byte(e.Reason))
		}
		if e.EffectID != "" {
			detail("effect", []byte(e.EffectID))
		}
	}
}

func short(hash string) string {
	return truncate(strings.TrimPrefix(hash, "sha256:"), 12)
}

func graphCmd(g *Env) *cobra.Command {
	var format, addr string
	cmd := &cobra.Command{
		Use:   "graph WORKFLOW|FILE",
		Short: "Draw a workflow (a YAML/JSON file, or the latest definition of a workflow) as dot or mermaid",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" {
				return fmt.Errorf("--format %q: want dot or mermaid", format)
			}
			if addr != "" {
				return graphRemote(cmd.Context(), addr, g.db, args[0], format)
			}
			d, err := g.findDefinition(cmd, args[0])
			if err != nil {
				return err
			}
			if format == "dot" {
				fmt.Print(d.Dot(nil))
			} else {
				fmt.Print(d.Mermaid(nil))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "mermaid", "dot or mermaid")
	addrFlag(cmd, &addr)
	return cmd
}

// findDefinition reads a definition file, or finds the latest definition of
// a workflow: stored in the journal (if there is one), else the App's.
// Nothing is written.
func (g *Env) findDefinition(cmd *cobra.Command, arg string) (*workflow.Definition, error) {
	if _, err := os.Stat(arg); err == nil {
		return workflow.LoadFile(arg)
	}
	if s, done, err := g.readStore(cmd); err == nil {
		defer done()
		stored, err := s.Definitions(cmd.Context(), arg)
		if err != nil {
			return nil, err
		}
		if len(stored) > 0 {
			return workflow.Load(stored[0].JSON, stored[0].Name+"@"+short(stored[0].Hash))
		}
	}
	reg, err := g.Registry()
	if err != nil {
		return nil, err
	}
	if g.app.Definitions != nil {
		defs, err := g.app.Definitions(reg)
		if err != nil {
			return nil, err
		}
		for _, d := range defs {
			if d.Name == arg {
				return d, nil
			}
		}
	}
	return nil, fmt.Errorf("no workflow or file named %q", arg)
}

func graphRemote(ctx context.Context, addr, db, name, format string) error {
	c, err := newAPIClient(ctx, addr, db)
	if err != nil {
		return err
	}
	var defs []journal.Definition
	if err := c.do(ctx, http.MethodGet, "/v1/definitions", url.Values{"name": {name}}, nil, "", &defs); err != nil {
		return err
	}
	if len(defs) == 0 {
		return fmt.Errorf("%s has no definition of workflow %q", addr, name)
	}
	var graph string
	if err := c.do(ctx, http.MethodGet, "/v1/definitions/"+url.PathEscape(defs[0].Hash)+"/graph", url.Values{"format": {format}}, nil, "", &graph); err != nil {
		return err
	}
	fmt.Print(graph)
	return nil
}

func definitionsCmd(g *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "definitions", Short: "Push and list workflow definitions"}
	var pushAddr, listAddr string
	push := &cobra.Command{
		Use:   "push FILE",
		Short: "Validate a YAML/JSON definition against the functions this deployment can invoke and store it; new runs of its workflow use it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pushAddr != "" {
				return pushRemote(cmd.Context(), pushAddr, g.db, args[0])
			}
			reg, err := g.Registry()
			if err != nil {
				return err
			}
			d, err := workflow.LoadFile(args[0], workflow.Functions(reg.Has))
			if err != nil {
				return suggest.FunctionHints(err, reg.Names())
			}
			s, err := g.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			// Journaled with who pushed it, as the API does.
			ctx := orchestrator.WithActor(cmd.Context(), "cli:"+os.Getenv("USER"))
			if err := orchestrator.New(s, nil).Push(ctx, d); err != nil {
				return err
			}
			fmt.Printf("pushed %s version %s (%s)\n", d.Name, d.Version, short(d.Hash()))
			return nil
		},
	}
	addrFlag(push, &pushAddr)
	list := &cobra.Command{
		Use:   "list",
		Short: "List stored definitions, newest first, with runs in flight on each",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listAddr != "" {
				return listRemote(cmd.Context(), listAddr, g.db)
			}
			s, done, err := g.readStore(cmd)
			if err != nil {
				return err
			}
			defer done()
			return listDefinitions(cmd.Context(), s)
		},
	}
	addrFlag(list, &listAddr)
	cmd.AddCommand(push, list)
	return cmd
}

func pushRemote(ctx context.Context, addr, db, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	c, err := newAPIClient(ctx, addr, db)
	if err != nil {
		return err
	}
	var out struct{ Name, Version, Hash string }
	if err := c.do(ctx, http.MethodPost, "/v1/definitions", nil, b, "application/yaml", &out); err != nil {
		return fmt.Errorf("push %s: %w", file, err)
	}
	fmt.Printf("pushed %s version %s (%s)\n", out.Name, out.Version, short(out.Hash))
	return nil
}

func listRemote(ctx context.Context, addr, db string) error {
	c, err := newAPIClient(ctx, addr, db)
	if err != nil {
		return err
	}
	var defs []journal.Definition
	if err := c.do(ctx, http.MethodGet, "/v1/definitions", nil, nil, "", &defs); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW\tVERSION\tHASH\tSTORED\tCURRENT")
	seen := map[string]bool{}
	for _, d := range defs {
		cur := ""
		if !seen[d.Name] {
			seen[d.Name], cur = true, "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, d.Version, short(d.Hash), d.Created.Format(time.RFC3339), cur)
	}
	return tw.Flush()
}

// listDefinitions prints the stored definitions (newest first; the newest
// of each workflow is the current one) with the runs in flight on each.
func listDefinitions(ctx context.Context, s journal.Store) error {
	defs, err := s.Definitions(ctx, "")
	if err != nil {
		return err
	}
	inflight := map[string]int{}
	for _, st := range []journal.Status{journal.StatusRunning, journal.StatusWaiting, journal.StatusReview} {
		cursor := ""
		for {
			runs, next, err := s.Runs(ctx, journal.Query{Status: st, Cursor: cursor, Limit: 1000})
			if err != nil {
				return err
			}
			for _, r := range runs {
				inflight[r.DefHash]++
			}
			if cursor = next; cursor == "" {
				break
			}
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKFLOW\tVERSION\tHASH\tIN FLIGHT\tSTORED\tCURRENT")
	seen := map[string]bool{}
	for _, d := range defs {
		cur := ""
		if !seen[d.Name] {
			seen[d.Name], cur = true, "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Name, d.Version, short(d.Hash), inflight[d.Hash], d.Created.Format(time.RFC3339), cur)
	}
	return tw.Flush()
}
