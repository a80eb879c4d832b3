package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
)

func pullCmd(g *Env) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "pull RUN",
		Short: "Copy one run (its events, its definition, its child runs) from a DynamoDB journal into a local SQLite journal",
		Long: `pull copies a run from a production journal (a DynamoDB table) into a
local SQLite journal, commit by commit with the same sequence numbers, with
the definition it runs on and its child runs, so that show, graph, the
visualizer and verification work on it offline. Pulling again copies only
the commits made since. The source is only read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if from == "" {
				from = os.Getenv("ORDO_TABLE")
			}
			table := strings.TrimPrefix(from, "dynamodb://")
			if table == "" {
				return errors.New("pull: --from TABLE (or ORDO_TABLE) names the DynamoDB journal to copy from")
			}
			src, err := openDynamo(ctx, table)
			if err != nil {
				return err
			}
			if to == "" {
				to = g.db
			}
			dst, err := g.openStoreAt(ctx, to)
			if err != nil {
				return err
			}
			defer dst.Close()
			n, err := pullRun(ctx, src, dst, args[0], map[string]bool{})
			if err != nil {
				return err
			}
			fmt.Printf("pulled %s from dynamodb://%s into %s: %d new commits\n", args[0], table, to, n)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the DynamoDB journal table (or dynamodb://TABLE); default ORDO_TABLE")
	cmd.Flags().StringVar(&to, "to", "", "the SQLite journal to copy into (default --db)")
	return cmd
}

// pullRun copies run's commits that dst lacks, its definition and its
// child runs from src to dst, and returns how many commits it appended.
func pullRun(ctx context.Context, src, dst journal.Store, run string, seen map[string]bool) (int, error) {
	if seen[run] {
		return 0, nil
	}
	seen[run] = true
	head, events, err := src.Load(ctx, run)
	if err != nil {
		return 0, fmt.Errorf("pull %s: %w", run, err)
	}
	def, err := src.Definition(ctx, head.DefHash)
	if err != nil {
		return 0, fmt.Errorf("pull %s: its definition %s: %w", run, head.DefHash, err)
	}
	if err := dst.PutDefinition(ctx, def); err != nil {
		return 0, err
	}
	local, _, err := dst.Load(ctx, run)
	if err != nil && !errors.Is(err, journal.ErrNotFound) {
		return 0, err
	}
	if err == nil && (local.Workflow != head.Workflow || local.DefHash != head.DefHash) {
		return 0, fmt.Errorf("pull %s: the local journal has another run of that id (workflow %s, definition %s)", run, local.Workflow, short(local.DefHash))
	}
	commits := groupCommits(head, events, local.Seq)
	n := 0
	for _, c := range commits {
		if _, err := dst.Append(ctx, c); err != nil {
			return n, fmt.Errorf("pull %s: commit %d: %w", run, c.After+1, err)
		}
		n++
	}
	for _, e := range events {
		if e.Child != "" {
			m, err := pullRun(ctx, src, dst, e.Child, seen)
			if err != nil {
				return n, err
			}
			n += m
		}
	}
	return n, nil
}

// groupCommits rebuilds the commits of events after sequence after (the
// events of one commit share its Seq), each appended after the one before;
// the last carries the head's status.
func groupCommits(head journal.Run, events []journal.Event, after int64) []journal.Commit {
	var out []journal.Commit
	var seq int64 = -1
	for _, e := range events {
		if e.Seq <= after {
			continue
		}
		if e.Seq != seq {
			seq = e.Seq
			prev := after
			if len(out) > 0 {
				prev = out[len(out)-1].After + 1
			}
			out = append(out, journal.Commit{Run: head.ID, After: prev, Workflow: head.Workflow, DefHash: head.DefHash, At: e.At})
			if prev == 0 {
				out[0].Status = journal.StatusRunning
			}
		}
		out[len(out)-1].Events = append(out[len(out)-1].Events, e)
	}
	if len(out) > 0 {
		out[len(out)-1].Status = head.Status
	}
	return out
}
