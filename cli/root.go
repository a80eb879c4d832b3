package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/observe"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/orchestrator/effect"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/orchestrator/sensitive/localkey"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/stephttp"
)

// App is what a team's main hands the CLI: its step functions, its
// workflow definitions, the handlers of its effect kinds, and any commands
// of its own. Every field is optional; an empty App is a CLI that runs
// pushed definitions over steps served elsewhere (HTTP, Lambda).
type App struct {
	// Register registers the team's step functions under the names its
	// definitions use (e.g. workflows.Register).
	Register func(reg *step.Registry)
	// Definitions builds the team's workflow definitions against the
	// registry Register filled. They are registered in the journal by the
	// commands that run workflows (dev, start, ...), never by read
	// commands.
	Definitions func(reg *step.Registry) ([]*workflow.Definition, error)
	// Effects handles effect kinds in the embedded runtime. A kind without
	// a handler is logged (at debug level, see --verbose) and counts as
	// done: on a laptop there is no mail server or event bus to call.
	Effects map[string]effect.Handler
	// Commands adds the team's own commands; each constructor receives the
	// Env that opens the journal and the runtime the way the built-in
	// commands do.
	Commands []func(env *Env) *cobra.Command
	// Setup names the function generated tests call to register the
	// definitions and get the step registry, as "import/path.Func" (see
	// ordo gen-test --setup and workflows.Setup).
	Setup string
}

// Main runs the CLI for app with the process's arguments until it finishes
// or SIGINT/SIGTERM arrives, and exits with status 1 on error. A team's
// main is one call:
//
//	func main() { cli.Main(cli.App{Register: mysteps.Register, Definitions: mysteps.Definitions}) }
func Main(app App) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Command(app).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ordo:", err)
		os.Exit(1)
	}
}

// Command returns the root `ordo` command for app, for callers that run it
// themselves (tests, a wrapper with more flags).
func Command(app App) *cobra.Command {
	env := &Env{app: app}
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
	root.PersistentFlags().StringVar(&env.db, "db", def, "journal file (SQLite); env ORDO_DB")
	root.PersistentFlags().BoolVarP(&env.verbose, "verbose", "v", false, "log engine activity to stderr")
	root.PersistentFlags().StringVar(&env.journal, "journal", os.Getenv("ORDO_JOURNAL"),
		"journal read commands read: dynamodb://TABLE or sqlite:FILE (default --db; ORDO_TABLE selects dynamodb://$ORDO_TABLE); env ORDO_JOURNAL")
	root.PersistentFlags().StringVar(&env.steps, "steps", os.Getenv("ORDO_STEPS"),
		"YAML file mapping function names to HTTP URLs of steps served elsewhere (docs/steps.md); env ORDO_STEPS, or ORDO_STEP_URLS=NAME=URL,...")
	root.AddCommand(devCmd(env), startCmd(env), runsCmd(env), showCmd(env), graphCmd(env), definitionsCmd(env), localCmd(),
		cancelCmd(env), resubmitCmd(env), eventCmd(env), callbackCmd(env), functionsCmd(env), initCmd(), pullCmd(env),
		verifyCmd(env), replayCmd(env), genTestCmd(env), uiCmd(env), reviewCmd(env), capacityCmd())
	for _, c := range app.Commands {
		root.AddCommand(c(env))
	}
	return root
}

// Env is the CLI's environment as its commands see it: the global flags
// and the App. Commands a team adds through App.Commands use it to open
// the runtime.
type Env struct {
	app     App
	db      string
	verbose bool
	steps   string
	journal string
	// observers see every commit of the runtime Open starts (metrics,
	// traces); tracer, when set, traces its steps and effects too.
	observers []observe.Observer
	tracer    *observe.Tracer
	// metrics, when set, counts the runtime's commits (a Tally over the
	// journal Open opens).
	metrics observe.Metrics
}

// DB returns the journal file the command works on (--db or ORDO_DB).
func (g *Env) DB() string { return g.db }

// SetDB points the command at another journal file (e.g. a throw-away one).
func (g *Env) SetDB(path string) { g.db = path }

// Logger returns the CLI's logger: quiet unless --verbose.
func (g *Env) Logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(observe.LogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
}

func (g *Env) openStore(ctx context.Context) (*sqlitejournal.Store, error) {
	if strings.HasPrefix(g.journal, "dynamodb://") {
		return nil, fmt.Errorf("--journal %s: this command runs workflows in-process on a SQLite journal; to act on a deployed platform use --addr with its API URL", g.journal)
	}
	return g.openStoreAt(ctx, g.db)
}

func (g *Env) openStoreAt(ctx context.Context, path string) (*sqlitejournal.Store, error) {
	s, err := sqlitejournal.New(ctx, path)
	if errors.Is(err, sqlitejournal.ErrLocked) {
		return nil, fmt.Errorf("open journal %s: %w (a running `ordo dev` takes write commands with --addr or ORDO_ADDR)", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	return s, nil
}

// Registry returns the step functions this CLI can invoke: the App's Go
// steps and the steps served over HTTP (--steps, ORDO_STEP_URLS).
func (g *Env) Registry() (*step.Registry, error) {
	reg := step.NewRegistry()
	if g.app.Register != nil {
		g.app.Register(reg)
	}
	m, err := g.stepURLs()
	if err != nil {
		return nil, err
	}
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// stepURLs merges the --steps file and ORDO_STEP_URLS.
func (g *Env) stepURLs() (stephttp.Mapping, error) {
	m, err := stephttp.ParseEnv(os.Getenv("ORDO_STEP_URLS"))
	if err != nil {
		return nil, err
	}
	if g.steps == "" {
		return m, nil
	}
	f, err := stephttp.LoadFile(g.steps)
	if err != nil {
		return nil, err
	}
	for name, u := range f {
		if prev, dup := m[name]; dup && prev != u {
			return nil, fmt.Errorf("step %s: ORDO_STEP_URLS says %s, %s says %s", name, prev, g.steps, u)
		}
		m[name] = u
	}
	return m, nil
}

// Runtime is the embedded runtime over the journal with the App's steps,
// definitions and effect handlers. Close it when done.
type Runtime struct {
	*embedded.Runtime
	// Store is the journal the runtime writes.
	Store journal.Store
	// Registry holds the App's step functions.
	Registry *step.Registry
	// Definitions are the App's definitions, registered in the journal.
	Definitions []*workflow.Definition

	closeStore func() error
}

// Open opens the journal and starts the embedded runtime over it, with the
// App's definitions registered (a new version is stored only when a
// definition changed) and every stored definition loaded.
func (g *Env) Open(ctx context.Context) (*Runtime, error) {
	store, err := g.openStore(ctx)
	if err != nil {
		return nil, err
	}
	reg, err := g.Registry()
	if err != nil {
		store.Close()
		return nil, err
	}
	var defs []*workflow.Definition
	if g.app.Definitions != nil {
		if defs, err = g.app.Definitions(reg); err != nil {
			store.Close()
			return nil, err
		}
	}
	keys, err := callback.LoadFile(g.db + ".callback-key")
	if err != nil {
		store.Close()
		return nil, err
	}
	sealer, err := localkey.LoadFile(g.db + ".sealing-key")
	if err != nil {
		store.Close()
		return nil, err
	}
	log := g.Logger()
	rt := embedded.New(g.observed(store), g.traced(reg), embedded.WithLogger(log), embedded.WithSealer(sealer),
		embedded.WithEngineOptions(orchestrator.WithCallbackKeys(keys)))
	g.registerEffects(rt.Effects, log)
	if err := rt.Engine.Register(ctx, defs...); err != nil {
		rt.Close()
		store.Close()
		return nil, err
	}
	a := &Runtime{Runtime: rt, Store: store, Registry: reg, Definitions: defs, closeStore: store.Close}
	if err := rt.Engine.Refresh(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close stops the runtime and closes the journal.
func (a *Runtime) Close() {
	a.Runtime.Close()
	a.closeStore()
}

// registerEffects wires the App's effect handlers, and a logging one for
// every kind the steps emit that the App does not handle.
func (g *Env) registerEffects(x *effect.Executor, log *slog.Logger) {
	logIt := effect.Sealed(effect.HandlerFunc(func(ctx context.Context, run string, e journal.Effect) error {
		log.Debug("effect", "run", run, "id", e.ID, "kind", e.Kind, "target", e.Target, "payload", string(sensitive.Redact(e.Payload)))
		return nil
	}))
	x.Handle(effect.AnyKind, g.tracedEffect(logIt))
	for kind, h := range g.app.Effects {
		x.Handle(kind, g.tracedEffect(h))
	}
}
