package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/step"
)

// Operator commands act on a run in one of two ways: through a running
// `ordo dev` (--addr or ORDO_ADDR: its HTTP API), or directly on the
// journal file, driving the run in this process until it settles or --wait
// elapses.

type opFlags struct {
	addr string
	wait time.Duration
	g    *Env
}

func (o *opFlags) register(cmd *cobra.Command, g *Env) {
	o.g = g
	cmd.Flags().StringVar(&o.addr, "addr", os.Getenv("ORDO_ADDR"), "a running `ordo dev` (host:port) or the platform's API URL (https://…, SigV4-signed) to send this to; default: act on --db directly; env ORDO_ADDR")
	cmd.Flags().DurationVar(&o.wait, "wait", 30*time.Second, "without --addr: how long to drive the run afterwards")
}

// post sends body to the API path of the server --addr names and returns
// its answer.
func (o *opFlags) post(ctx context.Context, path string, body any) (map[string]any, error) {
	c, err := newAPIClient(ctx, o.addr, o.g.db)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, c.postJSON(ctx, path, body, &out)
}

// direct opens the journal, applies op through the runtime (which
// schedules the run's drive), waits until it settles or the wait elapses,
// and prints where it stands.
func (o *opFlags) direct(ctx context.Context, g *Env, run string, op func(*Runtime) error) error {
	a, err := g.Open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := op(a); err != nil {
		return err
	}
	status, err := a.settle(ctx, run, o.wait)
	if err != nil {
		return err
	}
	fmt.Printf("run %s: %s\n", run, status)
	return nil
}

func runPath(run, action string) (string, error) {
	wf, key, ok := strings.Cut(run, "/")
	if !ok || wf == "" || key == "" {
		return "", fmt.Errorf("run id %q: want WORKFLOW/KEY", run)
	}
	return "/v1/runs/" + url.PathEscape(wf) + "/" + key + "/" + action, nil
}

func cancelCmd(g *Env) *cobra.Command {
	var o opFlags
	var by, reason string
	cmd := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Cancel a run: no new steps start; compensations of completed steps run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.addr != "" {
				path, err := runPath(args[0], "cancel")
				if err == nil {
					_, err = o.post(cmd.Context(), path, map[string]string{"by": by, "reason": reason})
				}
				if err == nil {
					fmt.Printf("run %s: cancelled\n", args[0])
				}
				return err
			}
			return o.direct(cmd.Context(), g, args[0], func(a *Runtime) error {
				return a.Cancel(cmd.Context(), args[0], by, reason)
			})
		},
	}
	o.register(cmd, g)
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who cancels (journaled)")
	cmd.Flags().StringVar(&reason, "reason", "", "why (journaled)")
	return cmd
}

func resubmitCmd(g *Env) *cobra.Command {
	var o opFlags
	var by, stepName, input, state, reason string
	cmd := &cobra.Command{
		Use:   "resubmit RUN",
		Short: "Take a run out of review: its failed steps (or --step) start again, optionally with edited input or state",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var in, st json.RawMessage
			var err error
			if input != "" {
				if in, err = readInput(input); err != nil {
					return err
				}
			}
			if state != "" {
				if st, err = readInput(state); err != nil {
					return err
				}
			}
			if o.addr != "" {
				path, err := runPath(args[0], "resubmit")
				if err == nil {
					_, err = o.post(cmd.Context(), path, map[string]any{"by": by, "step": stepName, "input": in, "state": st, "reason": reason})
				}
				if err == nil {
					fmt.Printf("run %s: resubmitted\n", args[0])
				}
				return err
			}
			return o.direct(cmd.Context(), g, args[0], func(a *Runtime) error {
				return a.Resubmit(cmd.Context(), orchestrator.Resubmission{Run: args[0], By: by, Step: stepName,
					Input: in, State: st, Reason: reason})
			})
		},
	}
	o.register(cmd, g)
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who resubmits (journaled)")
	cmd.Flags().StringVar(&stepName, "step", "", "restart this step too (default: the failed ones)")
	cmd.Flags().StringVar(&input, "input", "", "replacement input for --step: JSON or @file")
	cmd.Flags().StringVar(&state, "state", "", "a JSON merge patch for the run's state: JSON or @file")
	cmd.Flags().StringVar(&reason, "reason", "", "why (journaled)")
	return cmd
}

func eventCmd(g *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "event", Short: "Deliver external events to runs"}
	var o opFlags
	var payload string
	send := &cobra.Command{
		Use:   "send RUN NAME",
		Short: "Deliver the event NAME (with --payload) to RUN; a step waiting for it continues",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := readInput(payload)
			if err != nil {
				return err
			}
			if o.addr != "" {
				path, err := runPath(args[0], "events")
				if err == nil {
					_, err = o.post(cmd.Context(), path, map[string]any{"name": args[1], "payload": p})
				}
				if err == nil {
					fmt.Printf("run %s: event %s delivered\n", args[0], args[1])
				}
				return err
			}
			return o.direct(cmd.Context(), g, args[0], func(a *Runtime) error {
				return a.Signal(cmd.Context(), args[0], args[1], p)
			})
		},
	}
	o.register(send, g)
	send.Flags().StringVarP(&payload, "payload", "p", "null", "the event's payload: JSON or @file")
	cmd.AddCommand(send)
	return cmd
}

func callbackCmd(g *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "callback", Short: "Complete or heartbeat an async step's callback token"}
	var o opFlags
	var output, errMsg, kind string
	var terminal bool
	complete := &cobra.Command{
		Use:   "complete TOKEN",
		Short: "Finish the async step attempt TOKEN names: with --output, or failed with --error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp := step.Response{}
			if errMsg != "" {
				resp.Error = &step.Failure{Message: errMsg, Kind: kind, Terminal: terminal}
			} else {
				out, err := readInput(output)
				if err != nil {
					return err
				}
				resp.Output = out
			}
			c, err := callback.Peek(args[0])
			if err != nil {
				return err
			}
			run := c.Run
			if o.addr != "" {
				body := map[string]any{"output": resp.Output}
				if resp.Error != nil {
					body = map[string]any{"error": resp.Error}
				}
				if _, err := o.post(cmd.Context(), "/v1/callbacks/"+args[0], body); err != nil {
					return err
				}
				fmt.Printf("run %s: callback completed\n", run)
				return nil
			}
			return o.direct(cmd.Context(), g, run, func(a *Runtime) error {
				return a.Complete(cmd.Context(), args[0], resp)
			})
		},
	}
	o.register(complete, g)
	complete.Flags().StringVar(&output, "output", "null", "the step's output: JSON or @file")
	complete.Flags().StringVar(&errMsg, "error", "", "fail the attempt with this message instead")
	complete.Flags().StringVar(&kind, "kind", "", "with --error: the error's kind (retry policies may list it as non-retryable)")
	complete.Flags().BoolVar(&terminal, "terminal", false, "with --error: do not retry")
	var ho opFlags
	heartbeat := &cobra.Command{
		Use:   "heartbeat TOKEN",
		Short: "Extend the timeout of the async step attempt TOKEN names",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ho.addr != "" {
				_, err := ho.post(cmd.Context(), "/v1/callbacks/"+args[0]+"/heartbeat", map[string]any{})
				return err
			}
			a, err := g.Open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			return a.Engine.Heartbeat(cmd.Context(), args[0])
		},
	}
	ho.register(heartbeat, g)
	cmd.AddCommand(complete, heartbeat)
	return cmd
}
