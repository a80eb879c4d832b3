package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/review"
)

// reviewCmd lists and resolves review items: what needs an operator and is
// not a run (malformed triggers, failed effects). Runs in review are listed
// by `ordo runs --status review`.
func reviewCmd(g *Env) *cobra.Command {
	cmd := &cobra.Command{Use: "review", Short: "List and resolve review items: malformed triggers and failed effects (not runs)"}
	cmd.AddCommand(reviewListCmd(g), reviewShowCmd(g), reviewResolveCmd(g))
	return cmd
}

func reviewListCmd(g *Env) *cobra.Command {
	var kind, format string
	var resolved bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List open review items, oldest first (--resolved: the resolved ones)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if kind != "" && !slices.Contains(journal.ReviewKinds, journal.ReviewKind(kind)) {
				return fmt.Errorf("--kind %q: want one of %s", kind, reviewKindNames())
			}
			s, done, err := g.readReviews(cmd)
			if err != nil {
				return err
			}
			defer done()
			items, _, err := s.Reviews(cmd.Context(), journal.ReviewQuery{Kind: journal.ReviewKind(kind), Resolved: resolved, Limit: limit})
			if err != nil {
				return err
			}
			switch format {
			case "json":
				if items == nil {
					items = []journal.ReviewItem{}
				}
				return printJSON(items)
			case "table":
				tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tCREATED\tREASON")
				for _, it := range items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.ID, it.Kind, it.Created.Format(time.RFC3339), truncate(it.Reason, 100))
				}
				return tw.Flush()
			}
			return fmt.Errorf("--format %q: want table or json", format)
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only items of this kind ("+reviewKindNames()+")")
	cmd.Flags().BoolVar(&resolved, "resolved", false, "list resolved items instead of open ones")
	cmd.Flags().StringVarP(&format, "format", "o", "table", "table or json")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many items")
	return cmd
}

func reviewKindNames() string {
	names := make([]string, len(journal.ReviewKinds))
	for i, k := range journal.ReviewKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

func reviewShowCmd(g *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a review item: its reason, payload and resolution",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, done, err := g.readReviews(cmd)
			if err != nil {
				return err
			}
			defer done()
			it, err := s.Review(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printJSON(it)
		},
	}
}

func reviewResolveCmd(g *Env) *cobra.Command {
	var o opFlags
	var by, note, body string
	var discard, resubmit bool
	cmd := &cobra.Command{
		Use:   "resolve ID",
		Short: "Resolve a review item: a failed effect is re-dispatched (or --discard); a malformed trigger is --resubmit'ted (optionally with an edited --body) or --discard'ed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := review.Request{ID: args[0], By: by, Note: note}
			switch {
			case discard && resubmit:
				return errors.New("--discard and --resubmit exclude each other")
			case discard:
				req.Action = review.Discard
			case resubmit:
				req.Action = review.Resubmit
			}
			if body != "" {
				b, err := readInput(body)
				if err != nil {
					return err
				}
				req.Body = b
			}
			if o.addr != "" {
				_, err := o.post(cmd.Context(), "/v1/review/"+escapeID(req.ID)+"/resolve",
					map[string]any{"action": req.Action, "by": req.By, "note": req.Note, "body": req.Body})
				if err == nil {
					fmt.Printf("review item %s: resolved\n", req.ID)
				}
				return err
			}
			a, err := g.Open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			reviews, ok := a.Store.(journal.Reviews)
			if !ok {
				return fmt.Errorf("the journal (%T) has no review items", a.Store)
			}
			it, err := review.Resolve(cmd.Context(), reviews, localRedeliverer{a}, req, time.Now())
			if err != nil {
				return err
			}
			fmt.Printf("review item %s: %s\n", it.ID, it.Resolution.Action)
			return nil
		},
	}
	o.register(cmd, g)
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "who resolves (recorded)")
	cmd.Flags().StringVar(&note, "note", "", "why (recorded)")
	cmd.Flags().BoolVar(&discard, "discard", false, "close the item without acting on it")
	cmd.Flags().BoolVar(&resubmit, "resubmit", false, "hand a malformed trigger to the orchestrator again")
	cmd.Flags().StringVar(&body, "body", "", "with --resubmit: the edited trigger body, JSON or @file")
	return cmd
}

// escapeID escapes each segment of a review item id for a URL path.
func escapeID(id string) string {
	parts := strings.Split(id, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// localRedeliverer resolves review items on the embedded runtime: a failed
// effect is executed again in this process; triggers are decoded only by
// the orchestrator Lambda, so a malformed one is resubmitted through the
// deployed API.
type localRedeliverer struct{ a *Runtime }

var _ review.Redeliverer = localRedeliverer{}

func (l localRedeliverer) Redispatch(ctx context.Context, run string, e journal.Effect) error {
	return l.a.Effects.ExecuteAll(ctx, run, []journal.Effect{e})
}

func (localRedeliverer) Redeliver(context.Context, string, string, json.RawMessage) error {
	return errors.New("the embedded runtime decodes no triggers: resubmit this item through the deployed API (POST /v1/review/{id}/resolve), or --discard it")
}

// readReviews opens the review items of the journal read commands read
// (--db, --journal), without writing to it.
func (g *Env) readReviews(cmd *cobra.Command) (journal.Reviews, func(), error) {
	s, done, err := g.readStore(cmd)
	if err != nil {
		return nil, nil, err
	}
	r, ok := s.(journal.Reviews)
	if !ok {
		done()
		return nil, nil, fmt.Errorf("the journal %T keeps no review items", s)
	}
	return r, done, nil
}
