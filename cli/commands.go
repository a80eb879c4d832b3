package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/visualizer"
)

func devCmd(g *Env) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded orchestrator with its HTTP API until interrupted",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := g.Open(ctx)
			if err != nil {
				return err
			}
			defer a.Close()
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
			srv := devServer(visualizer.Mount(api.New(a.Engine, a.Runtime, a.Poke, api.WithRedeliverer(localRedeliverer{a}),
				api.WithAuthenticator(tokens.Tokens()), api.WithFunctions(a.Registry.Has))))
			fmt.Printf("ordo dev: journal %s, %d unfinished runs resumed, API on http://%s/v1/runs\n", g.db, n, ln.Addr())
			fmt.Printf("ordo dev: bearer tokens (viewer, operator, admin) in %s; the CLI reads them from there\n", tokenFile(g.db))
			fmt.Printf("ordo dev: for the web UI run `ordo ui --api http://%s` (it sends the operator token)\n", ln.Addr())
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
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "listen address")
	return cmd
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
	var input, key string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "start WORKFLOW",
		Short: "Start a run and drive it until it settles (or --wait elapses)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			in, err := readInput(input)
			if err != nil {
				return err
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
	return cmd
}

func runsCmd(g *Env) *cobra.Command {
	var wf, status, format string
	var limit int
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List runs, most recently updated first",
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := g.openReader(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			q, err := g.runsQuery(cmd.Context(), s, wf, status)
			if err != nil {
				return err
			}
			q.Limit = limit
			runs, _, err := s.Runs(cmd.Context(), q)
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
	return cmd
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func showCmd(g *Env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run's timeline: every event, each step's input, output and state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := g.openReader(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			head, events, err := s.Load(cmd.Context(), args[0])
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
	return cmd
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
				fmt.Printf("%22s %-7s %s\n", "", label, truncate(string(v), 160))
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
	var format string
	cmd := &cobra.Command{
		Use:   "graph WORKFLOW|FILE",
		Short: "Draw a workflow (registered name, or a YAML/JSON file) as dot or mermaid",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var d *workflow.Definition
			if _, err := os.Stat(args[0]); err == nil {
				if d, err = workflow.LoadFile(args[0]); err != nil {
					return err
				}
			} else {
				a, err := g.Open(cmd.Context())
				if err != nil {
					return err
				}
				defer a.Close()
				var ok bool
				if d, ok = a.Engine.Workflow(args[0]); !ok {
					return fmt.Errorf("no workflow or file named %q", args[0])
				}
			}
			switch format {
			case "dot":
				fmt.Print(d.Dot(nil))
			case "mermaid":
				fmt.Print(d.Mermaid(nil))
			default:
				return fmt.Errorf("--format %q: want dot or mermaid", format)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "o", "mermaid", "dot or mermaid")
	return cmd
}

func definitionsCmd(g *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "definitions", Short: "Push and list workflow definitions"}
	push := &cobra.Command{
		Use:   "push FILE",
		Short: "Validate a YAML/JSON definition and store it; new runs of its workflow use it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.Open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			d, err := workflow.LoadFile(args[0], workflow.Functions(a.Registry.Has))
			if err != nil {
				return err
			}
			// Journaled with who pushed it, as the API does.
			ctx := orchestrator.WithActor(cmd.Context(), "cli:"+os.Getenv("USER"))
			if err := a.Engine.Push(ctx, d); err != nil {
				return err
			}
			fmt.Printf("pushed %s version %s (%s)\n", d.Name, d.Version, short(d.Hash()))
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List stored definitions, newest first, with runs in flight on each",
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.Open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			defs, err := a.Store.Definitions(cmd.Context(), "")
			if err != nil {
				return err
			}
			inflight := map[string]int{}
			for _, st := range []journal.Status{journal.StatusRunning, journal.StatusWaiting, journal.StatusReview} {
				cursor := ""
				for {
					runs, next, err := a.Store.Runs(cmd.Context(), journal.Query{Status: st, Cursor: cursor, Limit: 1000})
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
			for _, d := range defs {
				cur := ""
				if w, ok := a.Engine.Workflow(d.Name); ok && w.Hash() == d.Hash {
					cur = "*"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", d.Name, d.Version, short(d.Hash), inflight[d.Hash], d.Created.Format(time.RFC3339), cur)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(push, list)
	return cmd
}
