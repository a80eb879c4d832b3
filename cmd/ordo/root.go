package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/workflows"
)

type globals struct {
	db      string
	verbose bool
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "ordo",
		Short:         "ordo: a serverless workflow orchestrator for AWS",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("ORDO_DB")
	if def == "" {
		def = "ordo.db"
	}
	root.PersistentFlags().StringVar(&g.db, "db", def, "journal file (SQLite); env ORDO_DB")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log engine activity to stderr")
	root.AddCommand(demoCmd(g), devCmd(g), startCmd(g), runsCmd(g), showCmd(g), graphCmd(g), definitionsCmd(g), localCmd(),
		cancelCmd(g), resubmitCmd(g), eventCmd(g), callbackCmd(g))
	return root
}

// logger returns the CLI's logger: quiet unless --verbose.
func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func (g *globals) openStore(ctx context.Context) (*sqlitejournal.Store, error) {
	s, err := sqlitejournal.New(ctx, g.db)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", g.db, err)
	}
	return s, nil
}

// app is the embedded runtime with the OMS workflows registered.
type app struct {
	store *sqlitejournal.Store
	rt    *embedded.Runtime
	reg   *step.Registry
	defs  []*workflow.Definition
}

func (g *globals) openApp(ctx context.Context, logOut io.Writer) (*app, error) {
	store, err := g.openStore(ctx)
	if err != nil {
		return nil, err
	}
	reg := step.NewRegistry()
	workflows.Register(reg)
	defs, err := workflows.Definitions(reg)
	if err != nil {
		store.Close()
		return nil, err
	}
	keys, err := callback.LoadFile(g.db + ".callback-key")
	if err != nil {
		store.Close()
		return nil, err
	}
	log := g.logger()
	rt := embedded.New(store, reg, embedded.WithLogger(log),
		embedded.WithEngineOptions(orchestrator.WithCallbackKeys(keys)))
	registerEffects(rt.Effects, log)
	if err := rt.Engine.Register(ctx, defs...); err != nil {
		rt.Close()
		store.Close()
		return nil, err
	}
	a := &app{store: store, rt: rt, reg: reg, defs: defs}
	if err := rt.Engine.Refresh(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *app) Close() {
	a.rt.Close()
	a.store.Close()
}

var _ journal.Store = (*sqlitejournal.Store)(nil)

// registerEffects wires the OMS effect kinds to handlers that log them: in
// the embedded runtime there is no mail server or event bus to call.
func registerEffects(x *effect.Executor, log *slog.Logger) {
	for _, kind := range []string{"email", "publish"} {
		x.Handle(kind, effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
			log.Debug("effect", "run", run, "id", e.ID, "kind", e.Kind, "target", e.Target, "payload", string(e.Payload))
			return nil
		}))
	}
}
