package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/journal/dynamojournal/dynamotest"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/embedded"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/orchestrator/workflow"
	"github.com/ordoflow/ordo/stephttp"
	"github.com/ordoflow/ordo/workflows"
)

var sample = App{Register: workflows.Register, Definitions: workflows.Definitions}

// run executes the CLI of app with args.
func run(t *testing.T, app App, args ...string) error {
	t.Helper()
	root := Command(app)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return root.ExecuteContext(ctx)
}

// teamApp is a team's App: one Go step, one definition.
var teamApp = App{
	Register: func(reg *step.Registry) {
		reg.Register("concession-receive", step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
			return map[string]any{"received": in["id"]}, nil
		}))
	},
	Definitions: func(reg *step.Registry) ([]*workflow.Definition, error) {
		d, err := workflow.New("concession", workflow.Key("input.id"), workflow.Step("receive", "concession-receive")).
			Build(workflow.Functions(reg.Has))
		return []*workflow.Definition{d}, err
	},
}

func storedNames(t *testing.T, db string) []string {
	t.Helper()
	s, err := sqlitejournal.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defs, err := s.Definitions(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return names
}

// TestReadCommandsDoNotWrite runs the sample CLI's read commands on a
// team's journal: none of the sample definitions may land in it, and a
// journal that does not exist is not created.
func TestReadCommandsDoNotWrite(t *testing.T) {
	db := filepath.Join(t.TempDir(), "team.db")
	if err := run(t, teamApp, "--db", db, "start", "concession", "--input", `{"id":"c1"}`); err != nil {
		t.Fatal(err)
	}
	before := storedNames(t, db)
	for _, args := range [][]string{
		{"definitions", "list"}, {"runs"}, {"show", "concession/c1"}, {"graph", "concession"}, {"graph", "order"},
	} {
		if err := run(t, sample, append([]string{"--db", db}, args...)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if after := storedNames(t, db); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("read commands changed the stored definitions: %v, was %v", after, before)
	}
	missing := filepath.Join(t.TempDir(), "nope.db")
	err := run(t, sample, "--db", missing, "runs")
	if err == nil || !strings.Contains(err.Error(), "no journal at "+missing) {
		t.Fatalf("runs on a missing journal: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Fatalf("runs created %s", missing)
	}
}

// TestPushSuggestsFunctions pushes a definition naming a function nobody
// serves: the error names it and the closest ones that exist.
func TestPushSuggestsFunctions(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("name: concession\nkey: input.id\nsteps:\n  - name: receive\n    function: concession-recieve\n"), 0o644)
	err := run(t, teamApp, "--db", filepath.Join(dir, "j.db"), "definitions", "push", file)
	if err == nil || !strings.Contains(err.Error(), `"concession-recieve"`) || !strings.Contains(err.Error(), "did you mean concession-receive?") {
		t.Fatalf("push: %v", err)
	}
}

// TestDevWithHTTPSteps runs `ordo dev` with a step served over HTTP and
// drives it entirely through the CLI's --addr: start, runs, show, and a
// push checked against the functions the server can invoke.
func TestDevWithHTTPSteps(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(stephttp.Handler(step.Func(func(ctx context.Context, in map[string]any) (map[string]any, error) {
		calls.Add(1)
		return map[string]any{"inspected": in["id"]}, nil
	})))
	defer srv.Close()
	dir := t.TempDir()
	steps := filepath.Join(dir, "steps.yaml")
	os.WriteFile(steps, []byte("steps:\n  concession-inspect: "+srv.URL+"\n"), 0o644)
	def := filepath.Join(dir, "inspect.yaml")
	os.WriteFile(def, []byte("name: inspection\nkey: input.id\nsteps:\n  - name: receive\n    function: concession-receive\n  - name: inspect\n    function: concession-inspect\n    after: [receive]\n"), 0o644)

	env := &Env{app: teamApp, steps: steps}
	fns, err := env.functions()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(fns); got != "[{concession-inspect http "+srv.URL+"} {concession-receive go (in-process)}]" {
		t.Fatalf("functions = %s", got)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		root := Command(teamApp)
		root.SetArgs([]string{"--db", filepath.Join(dir, "dev.db"), "--steps", steps, "dev", "--addr", addr})
		done <- root.ExecuteContext(ctx)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	waitHTTP(t, "http://"+addr+"/v1/runs")

	if err := run(t, teamApp, "--db", filepath.Join(dir, "dev.db"), "definitions", "push", "--addr", addr, def); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: bad\nkey: input.id\nsteps:\n  - name: x\n    function: concession-teleport\n"), 0o644)
	os.WriteFile(bad, []byte("name: bad\nkey: input.id\nsteps:\n  - name: x\n    function: concession-inspekt\n"), 0o644)
	if err := run(t, teamApp, "--db", filepath.Join(dir, "dev.db"), "definitions", "push", "--addr", addr, bad); err == nil || !strings.Contains(err.Error(), "did you mean concession-inspect?") {
		t.Fatalf("push of an uninvokable function through the API: %v", err)
	}
	if err := run(t, teamApp, "--db", filepath.Join(dir, "dev.db"), "start", "inspection", "--addr", addr, "--input", `{"id":"i1"}`); err != nil {
		t.Fatal(err)
	}
	c, _ := newAPIClient(context.Background(), addr, filepath.Join(dir, "dev.db"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out struct{ Run journal.Run }
		if err := c.do(context.Background(), http.MethodGet, "/v1/runs/inspection/i1", nil, nil, "", &out); err != nil {
			t.Fatal(err)
		}
		if out.Run.Status == journal.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("run status %s after 20s", out.Run.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the HTTP step ran %d times, want 1", n)
	}
	for _, args := range [][]string{{"runs", "--addr", addr}, {"show", "inspection/i1", "--addr", addr}, {"graph", "inspection", "--addr", addr}} {
		if err := run(t, teamApp, append([]string{"--db", filepath.Join(dir, "dev.db")}, args...)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	root := Command(teamApp)
	root.SetContext(context.Background())
	head, events, err := (&Env{db: filepath.Join(dir, "dev.db")}).loadRun(root, addr, "inspection/i1")
	if err != nil || head.Status != journal.StatusCompleted || len(events) == 0 || events[len(events)-1].Seq == 0 {
		t.Fatalf("show --addr: %+v, %d events, %v", head, len(events), err)
	}
}

// TestReadDynamoJournal reads a DynamoDB journal (DynamoDB Local) with
// --journal dynamodb://TABLE and with ORDO_TABLE.
func TestReadDynamoJournal(t *testing.T) {
	client := dynamotest.Client(t)
	table := dynamotest.Table(t, client)
	ctx := context.Background()
	store := dynamojournal.New(client, table)
	reg := step.NewRegistry()
	teamApp.Register(reg)
	defs, _ := teamApp.Definitions(reg)
	eng := orchestrator.New(store, nil)
	if err := eng.Register(ctx, defs...); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Start(ctx, orchestrator.StartRequest{Workflow: "concession", Input: json.RawMessage(`{"id":"d1"}`)}); err != nil {
		t.Fatal(err)
	}
	root := Command(sample)
	root.SetContext(ctx)
	env := &Env{journal: "dynamodb://" + table}
	s, done, err := env.readStore(root)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	runs, _, err := s.Runs(ctx, journal.Query{})
	if err != nil || len(runs) != 1 || runs[0].ID != "concession/d1" {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	for _, args := range [][]string{{"runs"}, {"show", "concession/d1"}, {"definitions", "list"}} {
		if err := run(t, sample, append([]string{"--journal", "dynamodb://" + table}, args...)...); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	t.Setenv("ORDO_TABLE", table)
	if err := run(t, sample, "show", "concession/d1"); err != nil {
		t.Fatalf("show with ORDO_TABLE: %v", err)
	}
	if names, _ := store.Definitions(ctx, ""); len(names) != 1 {
		t.Fatalf("the table holds %d definitions after read commands, want 1", len(names))
	}
	if err := run(t, sample, "--journal", "dynamodb://"+table, "start", "order"); err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Fatalf("start on a DynamoDB journal: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 20s", url)
}

// TestPullRun runs a workflow on a DynamoDB journal (DynamoDB Local),
// pulls the run into a SQLite journal and compares: same head, same
// events in the same commits, the definition with it; a second pull after
// nothing changed copies nothing.
func TestPullRun(t *testing.T) {
	client := dynamotest.Client(t)
	table := dynamotest.Table(t, client)
	ctx := context.Background()
	src := dynamojournal.New(client, table)
	reg := step.NewRegistry()
	teamApp.Register(reg)
	defs, _ := teamApp.Definitions(reg)
	rt := embedded.New(src, reg)
	defer rt.Close()
	if err := rt.Engine.Register(ctx, defs...); err != nil {
		t.Fatal(err)
	}
	st, err := rt.Start(ctx, orchestrator.StartRequest{Workflow: "concession", Input: json.RawMessage(`{"id":"p1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if status, err := rt.Wait(ctx, st.Run); err != nil || status != journal.StatusCompleted {
		t.Fatalf("run on DynamoDB: %s %v", status, err)
	}
	db := filepath.Join(t.TempDir(), "home.db")
	if err := run(t, sample, "pull", st.Run, "--from", "dynamodb://"+table, "--to", db); err != nil {
		t.Fatal(err)
	}
	wantHead, wantEvents, _ := src.Load(ctx, st.Run)
	dst, err := sqlitejournal.New(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	gotHead, gotEvents, err := dst.Load(ctx, st.Run)
	if err != nil {
		t.Fatal(err)
	}
	if gotHead.Status != wantHead.Status || gotHead.Seq != wantHead.Seq || gotHead.DefHash != wantHead.DefHash {
		t.Fatalf("pulled head %+v, want %+v", gotHead, wantHead)
	}
	if diff := cmp.Diff(gotEvents, wantEvents, cmpopts.EquateApproxTime(time.Millisecond)); diff != "" {
		t.Fatalf("pulled events (-got +want):\n%s", diff)
	}
	if _, err := dst.Definition(ctx, wantHead.DefHash); err != nil {
		t.Fatalf("the run's definition was not pulled: %v", err)
	}
	dst.Close()
	n, err := func() (int, error) {
		dst, err := sqlitejournal.New(ctx, db)
		if err != nil {
			return 0, err
		}
		defer dst.Close()
		return pullRun(ctx, src, dst, st.Run, map[string]bool{})
	}()
	if err != nil || n != 0 {
		t.Fatalf("second pull: %d commits, %v; want 0", n, err)
	}
	if err := run(t, sample, "--db", db, "show", st.Run); err != nil {
		t.Fatal(err)
	}
}
