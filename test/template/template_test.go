// Package template checks template.yaml, the single description of ordo's
// deployment, against the code: every Lambda entrypoint under functions/ is
// declared (and nothing else), built as SAM builds Go for provided.al2023 on
// arm64, gets exactly the environment its code reads, consumes its queues
// and streams with partial batch failures, has least-privilege IAM, and
// every queue has a DLQ with an alarm. The journal table must match
// journal/dynamojournal.TableSchema.
package template

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/infra/localrun"
	"github.com/ordoflow/ordo/journal/dynamojournal"
	"github.com/ordoflow/ordo/orchestrator/step"
	"github.com/ordoflow/ordo/workflows"
)

const (
	root         = "../.."
	templatePath = root + "/template.yaml"
)

// platformFunctions are the functions/ entrypoints that are not OMS steps.
var platformFunctions = []string{"api", "effects", "orchestrator", "repair"}

// envHelpers are functions/internal helpers that read environment
// variables on behalf of a main package: a main that calls one reads the
// variable. TestEnvHelpersComplete keeps this list honest.
var envHelpers = map[string]string{
	"internal.LogLevel(":            "ORDO_LOG_LEVEL",
	"internal.CallbackKeys(":        "ORDO_CALLBACK_KEY_SECRET",
	"internal.StepFunctionTimeout(": "ORDO_STEP_FUNCTION_TIMEOUT",
	"internal.IndexShards(":         "ORDO_INDEX_SHARDS",
	"internal.StepInvoke(":          "ORDO_STEP_INVOKE",
	"internal.Sealer(":              "ORDO_SEALING_KEY",
}

// tmpl is template.yaml parsed twice from the same intrinsic-processed
// JSON: by goformation's typed model, and as plain JSON for what the typed
// model drops or mangles (SAM event sources, mixed policy lists, metadata).
type tmpl struct {
	cf  *cloudformation.Template
	raw struct {
		Parameters map[string]map[string]any
		Globals    struct{ Function map[string]any }
		Resources  map[string]resource
		Outputs    map[string]map[string]any
	}
}

type resource struct {
	Type       string
	Metadata   map[string]any
	Properties map[string]any
}

// Intrinsics become readable markers: "!Ref X", "!GetAtt X.Attr", "!Sub
// ..."; parameters resolve to their defaults (so conditions evaluate).
func refMarker(_ string, input, template any) any {
	name, _ := input.(string)
	if name == "AWS::NoValue" {
		return nil
	}
	t, _ := template.(map[string]any)
	if ps, _ := t["Parameters"].(map[string]any); ps != nil {
		if _, ok := ps[name]; ok {
			return intrinsics.Ref("Ref", name, template)
		}
	}
	return "!Ref " + name
}

func getAttMarker(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return "!GetAtt " + v
	case []any:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = fmt.Sprint(p)
		}
		return "!GetAtt " + strings.Join(parts, ".")
	}
	return nil
}

func subMarker(_ string, input, _ any) any {
	switch v := input.(type) {
	case string:
		return "!Sub " + v
	case []any:
		if len(v) > 0 {
			return "!Sub " + fmt.Sprint(v[0])
		}
	}
	return nil
}

func load(t *testing.T) *tmpl {
	t.Helper()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	processed, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": refMarker, "Fn::GetAtt": getAttMarker, "Fn::Sub": subMarker},
		EvaluateConditions: true,
	})
	if err != nil {
		t.Fatalf("process template.yaml: %v", err)
	}
	var tp tmpl
	if tp.cf, err = goformation.ParseJSONWithOptions(processed, &intrinsics.ProcessorOptions{NoProcess: true}); err != nil {
		t.Fatalf("goformation: template.yaml: %v", err)
	}
	if err := json.Unmarshal(processed, &tp.raw); err != nil {
		t.Fatal(err)
	}
	return &tp
}

func (tp *tmpl) ofType(typ string) []string {
	var ids []string
	for id, r := range tp.raw.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// fnProp returns a function's property, falling back to Globals.
func (tp *tmpl) fnProp(id, name string) any {
	if v, ok := tp.raw.Resources[id].Properties[name]; ok {
		return v
	}
	return tp.raw.Globals.Function[name]
}

// codeDir is the functions/ directory a function's CodeUri names.
func (tp *tmpl) codeDir(id string) string {
	uri, _ := tp.fnProp(id, "CodeUri").(string)
	return strings.TrimSuffix(strings.TrimPrefix(filepath.ToSlash(filepath.Clean(uri)), "functions/"), "/")
}

// functionDirs lists functions/*/ directories holding a main.go.
func functionDirs(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mains {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(dirs)
	return dirs
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

func TestGoformationParses(t *testing.T) {
	tp := load(t)
	if n := len(tp.cf.GetAllServerlessFunctionResources()); n == 0 {
		t.Fatal("no AWS::Serverless::Function")
	}
	// `ordo local up` runs the same file.
	if _, err := localrun.ParseTemplate(templatePath, nil); err != nil {
		t.Fatalf("localrun cannot run template.yaml: %v", err)
	}
}

func TestFunctionsMatchDirectories(t *testing.T) {
	tp := load(t)
	byDir := map[string]string{}
	for id := range tp.cf.GetAllServerlessFunctionResources() {
		dir := tp.codeDir(id)
		if uri, _ := tp.fnProp(id, "CodeUri").(string); !strings.HasPrefix(uri, "functions/") || strings.Contains(dir, "/") {
			t.Errorf("%s: CodeUri %q is not functions/<name>/", id, uri)
			continue
		}
		// The API is deployed once per role, named for it.
		name := dir
		if role := apiRole(tp, id); role != "" {
			name += "-" + role
		}
		if other, dup := byDir[name]; dup {
			t.Errorf("%s and %s both build functions/%s", id, other, name)
		}
		byDir[name] = id
		if fn, _ := tp.fnProp(id, "FunctionName").(string); fn != "!Sub ${AWS::StackName}-"+name {
			t.Errorf("%s: FunctionName %q, want !Sub \"${AWS::StackName}-%s\" (the orchestrator invokes ORDO_RESOURCE_PREFIX + name)", id, fn, name)
		}
	}
	for name, id := range byDir {
		delete(byDir, name)
		byDir[tp.codeDir(id)] = id
	}
	dirs := functionDirs(t)
	for _, d := range dirs {
		if _, ok := byDir[d]; !ok {
			t.Errorf("functions/%s/main.go is not declared in template.yaml", d)
		}
	}
	for d, id := range byDir {
		if !slices.Contains(dirs, d) {
			t.Errorf("%s: CodeUri functions/%s/ has no main.go", id, d)
		}
	}
}

func TestFunctionsBuildAsGoOnArm64(t *testing.T) {
	tp := load(t)
	fns := tp.cf.GetAllServerlessFunctionResources()
	g, err := tp.cf.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatalf("no Globals.Function: %v", err)
	}
	for id, f := range fns {
		runtime, handler, arch := f.Runtime, f.Handler, f.Architectures
		if runtime == nil {
			runtime = g.Runtime
		}
		if handler == nil {
			handler = g.Handler
		}
		if arch == nil && g.Architectures != nil {
			arch = *g.Architectures
		}
		if runtime == nil || *runtime != "provided.al2023" {
			t.Errorf("%s: Runtime %v, want provided.al2023", id, runtime)
		}
		if handler == nil || *handler != "bootstrap" {
			t.Errorf("%s: Handler %v, want bootstrap", id, handler)
		}
		if !slices.Equal(arch, []string{"arm64"}) {
			t.Errorf("%s: Architectures %v, want [arm64]", id, arch)
		}
		if bm := tp.raw.Resources[id].Metadata["BuildMethod"]; bm != "go1.x" {
			t.Errorf("%s: Metadata.BuildMethod %v, want go1.x", id, bm)
		}
		if tr := tp.fnProp(id, "Tracing"); tr != "Active" {
			t.Errorf("%s: Tracing %v, want Active", id, tr)
		}
	}
}

// TestStepFunctionsDeployed: every OMS step function has a Lambda, and
// every functions/ directory is a platform function or a registered step.
func TestStepFunctionsDeployed(t *testing.T) {
	reg := step.NewRegistry()
	workflows.Register(reg)
	dirs := functionDirs(t)
	for _, name := range reg.Names() {
		if !slices.Contains(dirs, name) {
			t.Errorf("step function %q (workflows.Register) has no functions/%s/main.go", name, name)
		}
	}
	for _, d := range dirs {
		if !reg.Has(d) && !slices.Contains(platformFunctions, d) {
			t.Errorf("functions/%s is neither a platform function %v nor a registered step function", d, platformFunctions)
		}
	}
	for _, d := range platformFunctions {
		if !slices.Contains(dirs, d) {
			t.Errorf("platform function functions/%s/main.go is missing", d)
		}
	}
}

var (
	envLiteralRE = regexp.MustCompile(`"(ORDO_[A-Z0-9_]+)"`)
	envReadRE    = regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("(ORDO_[A-Z0-9_]+)"\)`)
)

// envRead lists the ORDO_* variables the code of functions/<dir> reads: the
// names it spells out (os.Getenv, internal.RequireEnv, ...) and those read
// by the internal helpers it calls.
func envRead(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "functions", dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envLiteralRE.FindAllStringSubmatch(string(src), -1) {
			set[m[1]] = true
		}
		for call, v := range envHelpers {
			if strings.Contains(string(src), call) {
				set[v] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// TestEnvHelpersComplete: every variable functions/internal reads itself
// is covered by envHelpers.
func TestEnvHelpersComplete(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "functions", "internal", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envReadRE.FindAllStringSubmatch(string(src), -1) {
			found := false
			for _, v := range envHelpers {
				found = found || v == m[1]
			}
			if !found {
				t.Errorf("%s reads %s: add the helper that reads it to envHelpers", filepath.Base(f), m[1])
			}
		}
	}
}

func envVars(m map[string]any) map[string]bool {
	out := map[string]bool{}
	env, _ := m["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	for k := range vars {
		out[k] = true
	}
	return out
}

func TestEnvironmentMatchesCode(t *testing.T) {
	tp := load(t)
	global := envVars(tp.raw.Globals.Function)
	globalUsed := map[string]bool{}
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		dir := tp.codeDir(id)
		own := envVars(tp.raw.Resources[id].Properties)
		read := envRead(t, dir)
		for _, v := range read {
			globalUsed[v] = true
			if !own[v] && !global[v] {
				t.Errorf("%s (functions/%s) reads %s but template.yaml does not declare it", id, dir, v)
			}
		}
		for v := range own {
			if !slices.Contains(read, v) {
				t.Errorf("%s declares %s but functions/%s never reads it", id, v, dir)
			}
			if global[v] {
				t.Errorf("%s redeclares the global %s", id, v)
			}
		}
	}
	for v := range global {
		if !globalUsed[v] {
			t.Errorf("Globals declare %s but no function reads it", v)
		}
	}
	for _, v := range []string{"ORDO_TABLE", "ORDO_RESOURCE_PREFIX"} {
		if !global[v] {
			t.Errorf("Globals must declare %s", v)
		}
	}
	if p, _ := tp.raw.Globals.Function["Environment"].(map[string]any)["Variables"].(map[string]any)["ORDO_RESOURCE_PREFIX"].(string); p != "!Sub ${AWS::StackName}-" {
		t.Errorf("ORDO_RESOURCE_PREFIX is %q, want !Sub \"${AWS::StackName}-\"", p)
	}
}

// event is a SAM event source of a function.
type event struct {
	fn, name, typ string
	props         map[string]any
}

func (tp *tmpl) events() []event {
	var out []event
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		evs, _ := tp.raw.Resources[id].Properties["Events"].(map[string]any)
		for name, e := range evs {
			m, _ := e.(map[string]any)
			props, _ := m["Properties"].(map[string]any)
			typ, _ := m["Type"].(string)
			out = append(out, event{fn: id, name: name, typ: typ, props: props})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fn+out[i].name < out[j].fn+out[j].name })
	return out
}

// getAttTarget returns X of "!GetAtt X.Attr".
func getAttTarget(v any, attr string) (string, bool) {
	s, _ := v.(string)
	res, ok := strings.CutPrefix(s, "!GetAtt ")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(res, "."+attr)
}

func TestEventSourcesReportBatchItemFailures(t *testing.T) {
	tp := load(t)
	n := 0
	for _, e := range tp.events() {
		if e.typ != "SQS" && e.typ != "Kinesis" {
			continue
		}
		n++
		where := e.fn + "." + e.name
		if !slices.Contains(strs(e.props["FunctionResponseTypes"]), "ReportBatchItemFailures") {
			t.Errorf("%s: FunctionResponseTypes lacks ReportBatchItemFailures", where)
		}
		if e.props["BatchSize"] == nil {
			t.Errorf("%s: no BatchSize", where)
		}
		if e.typ == "Kinesis" {
			if e.props["StartingPosition"] != "TRIM_HORIZON" {
				t.Errorf("%s: StartingPosition %v, want TRIM_HORIZON", where, e.props["StartingPosition"])
			}
			if e.props["BisectBatchOnFunctionError"] != true {
				t.Errorf("%s: BisectBatchOnFunctionError not true", where)
			}
			if e.props["MaximumRetryAttempts"] == nil {
				t.Errorf("%s: no MaximumRetryAttempts (a poison record would block its shard until it expires)", where)
			}
			dc, _ := e.props["DestinationConfig"].(map[string]any)
			of, _ := dc["OnFailure"].(map[string]any)
			if q, ok := getAttTarget(of["Destination"], "Arn"); !ok || tp.raw.Resources[q].Type != "AWS::SQS::Queue" || of["Type"] != "SQS" {
				t.Errorf("%s: DestinationConfig.OnFailure is not an SQS queue of the template: %v", where, dc)
			}
		}
	}
	if n == 0 {
		t.Fatal("no SQS or Kinesis event sources")
	}
}

func TestEventSourceWiring(t *testing.T) {
	tp := load(t)
	got := map[string][]string{}
	for _, e := range tp.events() {
		if e.typ == "Schedule" {
			got[e.fn] = append(got[e.fn], e.typ+":"+fmt.Sprint(e.props["Schedule"]))
			continue
		}
		src := e.props["Queue"]
		if e.typ == "Kinesis" {
			src = e.props["Stream"]
		}
		res, _ := getAttTarget(src, "Arn")
		got[e.fn] = append(got[e.fn], e.typ+":"+res)
	}
	for _, v := range got {
		sort.Strings(v)
	}
	want := map[string][]string{
		"OrchestratorFunction": {"Kinesis:OrdersStream", "SQS:ConcessionsQueue", "SQS:OrchestratorQueue", "SQS:OrdersQueue"},
		"EffectsFunction":      {"SQS:EffectsQueue"},
		// The head sweep (RepairHeads) runs on a schedule.
		"RepairFunction": {"Schedule:rate(15 minutes)"},
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("event sources (-got +want):\n%s", d)
	}
}

// dlqs returns the queues used as dead-letter targets (redrive or Kinesis
// on-failure destinations).
func (tp *tmpl) dlqs() map[string]bool {
	out := map[string]bool{}
	for _, id := range tp.ofType("AWS::SQS::Queue") {
		rp, _ := tp.raw.Resources[id].Properties["RedrivePolicy"].(map[string]any)
		if q, ok := getAttTarget(rp["deadLetterTargetArn"], "Arn"); ok {
			out[q] = true
		}
	}
	for _, e := range tp.events() {
		dc, _ := e.props["DestinationConfig"].(map[string]any)
		of, _ := dc["OnFailure"].(map[string]any)
		if q, ok := getAttTarget(of["Destination"], "Arn"); ok {
			out[q] = true
		}
	}
	return out
}

func number(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		var f float64
		fmt.Sscan(x, &f)
		return f
	}
	return 0
}

func TestQueuesHaveDLQs(t *testing.T) {
	tp := load(t)
	dlqs := tp.dlqs()
	queues := tp.ofType("AWS::SQS::Queue")
	for _, id := range queues {
		props := tp.raw.Resources[id].Properties
		if props["SqsManagedSseEnabled"] != true && props["KmsMasterKeyId"] == nil {
			t.Errorf("%s: not encrypted", id)
		}
		if dlqs[id] {
			if number(props["MessageRetentionPeriod"]) < 1209600 {
				t.Errorf("DLQ %s: MessageRetentionPeriod %v, want the 14-day maximum", id, props["MessageRetentionPeriod"])
			}
			continue
		}
		rp, _ := props["RedrivePolicy"].(map[string]any)
		q, ok := getAttTarget(rp["deadLetterTargetArn"], "Arn")
		if !ok || tp.raw.Resources[q].Type != "AWS::SQS::Queue" {
			t.Errorf("%s: no RedrivePolicy to a DLQ of the template", id)
		}
		if number(rp["maxReceiveCount"]) < 1 {
			t.Errorf("%s: RedrivePolicy without maxReceiveCount", id)
		}
	}
	for _, want := range []string{"OrdersQueue", "OrchestratorQueue", "EffectsQueue", "NotificationsQueue"} {
		if !slices.Contains(queues, want) {
			t.Errorf("no %s", want)
		}
	}
	// AWS: a source queue's visibility timeout should be at least six times
	// its function's timeout, or batches retried by the poller reappear
	// while still being processed.
	for _, e := range tp.events() {
		if e.typ != "SQS" {
			continue
		}
		q, _ := getAttTarget(e.props["Queue"], "Arn")
		vt := number(tp.raw.Resources[q].Properties["VisibilityTimeout"])
		timeout := number(tp.fnProp(e.fn, "Timeout"))
		if vt < 6*timeout {
			t.Errorf("%s: VisibilityTimeout %v < 6 x %s's Timeout %v", q, vt, e.fn, timeout)
		}
	}
}

func TestNames(t *testing.T) {
	tp := load(t)
	want := map[string]string{
		"OrdersQueue": "!Sub ${AWS::StackName}-orders",
		// The sample refund and return definitions trigger on sqs:concessions.
		"ConcessionsQueue": "!Sub ${AWS::StackName}-concessions",
		"OrdersStream":     "!Sub ${AWS::StackName}-orders",
		"EventsStream":     "!Sub ${AWS::StackName}-order-events",
	}
	for id, name := range want {
		p := tp.raw.Resources[id].Properties
		got := p["QueueName"]
		if got == nil {
			got = p["Name"]
		}
		if got != name {
			t.Errorf("%s is named %v, want %q (the decoder derives the channel from the name)", id, got, name)
		}
	}
}

// statements returns a function's inline IAM statements and its other
// policy entries (managed policy names, SAM policy templates).
func (tp *tmpl) statements(id string) (stmts []map[string]any, other []any) {
	pol := tp.raw.Resources[id].Properties["Policies"]
	var entries []any
	switch p := pol.(type) {
	case nil:
	case []any:
		entries = p
	default:
		entries = []any{p}
	}
	for _, e := range entries {
		m, ok := e.(map[string]any)
		if !ok || m["Statement"] == nil {
			other = append(other, e)
			continue
		}
		switch s := m["Statement"].(type) {
		case []any:
			for _, x := range s {
				xm, _ := x.(map[string]any)
				stmts = append(stmts, xm)
			}
		case map[string]any:
			stmts = append(stmts, s)
		}
	}
	return stmts, other
}

// asyncResults is the one grant of a step function: Lambda sends its
// asynchronous invocations' outcomes to the orchestrator's queue.
const asyncResults = "sqs:SendMessage !GetAtt OrchestratorQueue.Arn"

// TestStepFunctionsAnswerAsync: every step function sends the outcome of
// an asynchronous invoke (invoke: async) to the orchestrator's queue, on
// success and on failure, with no Lambda retries (the step's retry policy
// decides, and a retry is a new attempt).
func TestStepFunctionsAnswerAsync(t *testing.T) {
	tp := load(t)
	reg := step.NewRegistry()
	workflows.Register(reg)
	n := 0
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		if !reg.Has(tp.codeDir(id)) {
			continue
		}
		n++
		c, _ := tp.raw.Resources[id].Properties["EventInvokeConfig"].(map[string]any)
		if c == nil {
			t.Errorf("%s has no EventInvokeConfig", id)
			continue
		}
		if r, _ := c["MaximumRetryAttempts"].(float64); r != 0 || c["MaximumRetryAttempts"] == nil {
			t.Errorf("%s: MaximumRetryAttempts %v, want 0", id, c["MaximumRetryAttempts"])
		}
		dc, _ := c["DestinationConfig"].(map[string]any)
		for _, on := range []string{"OnSuccess", "OnFailure"} {
			d, _ := dc[on].(map[string]any)
			if q, ok := getAttTarget(d["Destination"], "Arn"); !ok || q != "OrchestratorQueue" || d["Type"] != "SQS" {
				t.Errorf("%s: %s destination %v, want the SQS !GetAtt OrchestratorQueue.Arn", id, on, d)
			}
		}
	}
	if n == 0 {
		t.Fatal("no step functions found")
	}
}

func TestLeastPrivilegeIAM(t *testing.T) {
	tp := load(t)
	reg := step.NewRegistry()
	workflows.Register(reg)
	grants := map[string][]string{} // function -> "action resource"
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		stmts, other := tp.statements(id)
		for _, o := range other {
			t.Errorf("%s: policy %v is not an inline statement (SAM templates and managed policies are broader than needed)", id, o)
		}
		for _, s := range stmts {
			if s["NotAction"] != nil || s["NotResource"] != nil {
				t.Errorf("%s: statement %v uses NotAction/NotResource", id, s["Sid"])
			}
			if s["Effect"] != "Allow" {
				continue
			}
			for _, a := range strs(s["Action"]) {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", id, a)
				}
				for _, r := range strs(s["Resource"]) {
					if r == "*" {
						t.Errorf("%s: action %s on every resource", id, a)
					}
					grants[id] = append(grants[id], a+" "+r)
				}
			}
		}
		if reg.Has(tp.codeDir(id)) {
			// Asynchronous invokes send its result to the orchestrator's
			// queue with the function's role (a destination).
			if g := grants[id]; len(g) != 1 || g[0] != asyncResults {
				t.Errorf("%s: a step function needs no AWS access beyond %s, logs and traces; it has %v", id, asyncResults, g)
			}
			delete(grants, id)
		}
	}

	// Only the functions that sign or verify callback tokens read the key.
	const callbackKey = "secretsmanager:GetSecretValue !Ref CallbackKey"
	journal := func() []string {
		var out []string
		for _, a := range []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"} {
			out = append(out, a+" !GetAtt JournalTable.Arn")
		}
		// Indexes are only ever queried.
		for _, idx := range []string{dynamojournal.IndexByStatus, dynamojournal.IndexByWorkflow} {
			out = append(out, "dynamodb:Query !Sub ${JournalTable.Arn}/index/"+idx)
		}
		// Offloaded commits: read and written, under their prefix only.
		for _, a := range []string{"s3:GetObject", "s3:PutObject"} {
			out = append(out, a+" !Sub ${PayloadBucket.Arn}/commits/*")
		}
		return out
	}
	// A viewer only reads.
	readJournal := func() []string {
		var out []string
		for _, g := range journal() {
			if !strings.Contains(g, "PutItem") && !strings.Contains(g, "UpdateItem") && !strings.Contains(g, "PutObject") {
				out = append(out, g)
			}
		}
		return out
	}
	// Sensitive values: the orchestrator seals and opens them, the effects
	// function opens them (for the handlers that perform effects), the
	// operator and admin APIs seal (starts, events, edits) and never open;
	// the viewer has no access to the key.
	const (
		seal = "kms:GenerateDataKey !GetAtt SealingKey.Arn"
		open = "kms:Decrypt !GetAtt SealingKey.Arn"
	)
	want := map[string][]string{
		"OrchestratorFunction": append(journal(), callbackKey, seal, open,
			"sqs:SendMessage !GetAtt OrchestratorQueue.Arn", "sqs:SendMessage !GetAtt EffectsQueue.Arn",
			// Queue depths: the platform's queues and their DLQs, read only.
			"sqs:GetQueueAttributes !GetAtt OrchestratorQueue.Arn", "sqs:GetQueueAttributes !GetAtt OrchestratorDLQ.Arn",
			"sqs:GetQueueAttributes !GetAtt EffectsQueue.Arn", "sqs:GetQueueAttributes !GetAtt EffectsDLQ.Arn"),
		"EffectsFunction": append(journal(), open,
			"sqs:SendMessage !GetAtt NotificationsQueue.Arn", "kinesis:PutRecord !GetAtt EventsStream.Arn"),
		// A viewer reads; operators and admins also hand starts and
		// resubmitted triggers to the orchestrator, re-dispatch failed
		// effects from review and verify callback tokens; admins check that
		// pushed definitions name deployed step functions.
		"ApiViewerFunction": readJournal(),
		// The head sweep reads unsettled runs and writes only heads.
		"RepairFunction": {"dynamodb:GetItem !GetAtt JournalTable.Arn", "dynamodb:UpdateItem !GetAtt JournalTable.Arn",
			"dynamodb:Query !GetAtt JournalTable.Arn",
			"dynamodb:Query !Sub ${JournalTable.Arn}/index/" + dynamojournal.IndexByStatus,
			"dynamodb:Query !Sub ${JournalTable.Arn}/index/" + dynamojournal.IndexByWorkflow},
		"ApiOperatorFunction": append(journal(), callbackKey, seal, "sqs:SendMessage !GetAtt OrchestratorQueue.Arn", "sqs:SendMessage !GetAtt EffectsQueue.Arn"),
		"ApiAdminFunction": append(journal(), callbackKey, seal, "sqs:SendMessage !GetAtt OrchestratorQueue.Arn", "sqs:SendMessage !GetAtt EffectsQueue.Arn",
			"lambda:GetFunction !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*"),
	}
	// Step functions are invoked by naming convention, "<stack>-<function>",
	// so that a team's own stack adds steps without editing this template;
	// the platform's own functions are denied (TestPlatformFunctionsNotSteps).
	want["OrchestratorFunction"] = append(want["OrchestratorFunction"],
		"lambda:InvokeFunction !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*",
		// Its configured timeout bounds the lease of a step without one.
		"lambda:GetFunctionConfiguration !Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*")
	for _, v := range want {
		sort.Strings(v)
	}
	for _, v := range grants {
		sort.Strings(v)
	}
	if d := cmp.Diff(grants, want); d != "" {
		t.Errorf("IAM grants (-got +want):\n%s", d)
	}
}

// TestPlatformFunctionsNotSteps checks that the orchestrator, allowed to
// invoke "<stack>-*", is denied the platform's own functions, and that every
// step function of the sample is named by the convention.
func TestPlatformFunctionsNotSteps(t *testing.T) {
	tp := load(t)
	reg := step.NewRegistry()
	workflows.Register(reg)
	stmts, _ := tp.statements("OrchestratorFunction")
	denied := map[string]bool{}
	for _, s := range stmts {
		if s["Effect"] != "Deny" {
			continue
		}
		for _, r := range strs(s["Resource"]) {
			denied[r] = true
		}
	}
	for _, fn := range []string{"orchestrator", "effects", "api-viewer", "api-operator", "api-admin", "repair"} {
		for _, r := range []string{"", ":*"} {
			arn := "!Sub arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-" + fn + r
			if !denied[arn] {
				t.Errorf("the orchestrator may invoke the platform function %s%s as a step (no Deny of %s)", fn, r, arn)
			}
		}
	}
	for _, id := range tp.ofType("AWS::Serverless::Function") {
		if name := tp.codeDir(id); reg.Has(name) {
			if got := tp.raw.Resources[id].Properties["FunctionName"]; got != "!Sub ${AWS::StackName}-"+name {
				t.Errorf("%s: FunctionName %s, want ${AWS::StackName}-%s (the convention the orchestrator's policy allows)", id, got, name)
			}
		}
	}
}

func (tp *tmpl) alarms() []map[string]any {
	var out []map[string]any
	for _, id := range tp.ofType("AWS::CloudWatch::Alarm") {
		out = append(out, tp.raw.Resources[id].Properties)
	}
	return out
}

func dimension(a map[string]any, name string) any {
	ds, _ := a["Dimensions"].([]any)
	for _, d := range ds {
		m, _ := d.(map[string]any)
		if m["Name"] == name {
			return m["Value"]
		}
	}
	return nil
}

func TestAlarms(t *testing.T) {
	tp := load(t)
	alarms := tp.alarms()
	fires := func(a map[string]any) bool {
		return a["ComparisonOperator"] == "GreaterThanThreshold" && number(a["Threshold"]) == 0
	}
	for q := range tp.dlqs() {
		found := false
		for _, a := range alarms {
			found = found || a["Namespace"] == "AWS/SQS" && a["MetricName"] == "ApproximateNumberOfMessagesVisible" &&
				dimension(a, "QueueName") == "!GetAtt "+q+".QueueName" && fires(a)
		}
		if !found {
			t.Errorf("DLQ %s: no alarm on ApproximateNumberOfMessagesVisible > 0", q)
		}
	}
	for _, fn := range []string{"OrchestratorFunction", "EffectsFunction", "RepairFunction"} {
		found := false
		for _, a := range alarms {
			found = found || a["Namespace"] == "AWS/Lambda" && a["MetricName"] == "Errors" &&
				dimension(a, "FunctionName") == "!Ref "+fn && fires(a)
		}
		if !found {
			t.Errorf("%s: no alarm on Errors > 0", fn)
		}
	}
}

func TestJournalTableMatchesDynamojournal(t *testing.T) {
	tp := load(t)
	tables := tp.ofType("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("tables %v, want one journal table", tables)
	}
	props := tp.raw.Resources[tables[0]].Properties
	schema := dynamojournal.TableSchema("journal")

	type key struct{ Name, Type string }
	keys := func(v any) []key {
		var out []key
		l, _ := v.([]any)
		for _, e := range l {
			m, _ := e.(map[string]any)
			out = append(out, key{fmt.Sprint(m["AttributeName"]), fmt.Sprint(m["KeyType"])})
		}
		return out
	}
	var wantAttrs, gotAttrs []key
	for _, a := range schema.AttributeDefinitions {
		wantAttrs = append(wantAttrs, key{*a.AttributeName, string(a.AttributeType)})
	}
	for _, e := range props["AttributeDefinitions"].([]any) {
		m := e.(map[string]any)
		gotAttrs = append(gotAttrs, key{fmt.Sprint(m["AttributeName"]), fmt.Sprint(m["AttributeType"])})
	}
	sortKeys := func(k []key) { sort.Slice(k, func(i, j int) bool { return k[i].Name < k[j].Name }) }
	sortKeys(wantAttrs)
	sortKeys(gotAttrs)
	if d := cmp.Diff(gotAttrs, wantAttrs); d != "" {
		t.Errorf("AttributeDefinitions (-got +want):\n%s", d)
	}
	var wantKey []key
	for _, k := range schema.KeySchema {
		wantKey = append(wantKey, key{*k.AttributeName, string(k.KeyType)})
	}
	if d := cmp.Diff(keys(props["KeySchema"]), wantKey); d != "" {
		t.Errorf("KeySchema (-got +want):\n%s", d)
	}
	type gsi struct {
		Keys       []key
		Projection string
		NonKey     []string // sorted
	}
	want, got := map[string]gsi{}, map[string]gsi{}
	for _, g := range schema.GlobalSecondaryIndexes {
		var ks []key
		for _, k := range g.KeySchema {
			ks = append(ks, key{*k.AttributeName, string(k.KeyType)})
		}
		nonKey := append([]string(nil), g.Projection.NonKeyAttributes...)
		sort.Strings(nonKey)
		want[*g.IndexName] = gsi{ks, string(g.Projection.ProjectionType), nonKey}
	}
	for _, e := range props["GlobalSecondaryIndexes"].([]any) {
		m := e.(map[string]any)
		p, _ := m["Projection"].(map[string]any)
		var nonKey []string
		if l, ok := p["NonKeyAttributes"].([]any); ok {
			for _, a := range l {
				nonKey = append(nonKey, fmt.Sprint(a))
			}
		}
		sort.Strings(nonKey)
		got[fmt.Sprint(m["IndexName"])] = gsi{keys(m["KeySchema"]), fmt.Sprint(p["ProjectionType"]), nonKey}
	}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("GlobalSecondaryIndexes (-got +want):\n%s", d)
	}
	if props["BillingMode"] != string(schema.BillingMode) {
		t.Errorf("BillingMode %v, want %s", props["BillingMode"], schema.BillingMode)
	}
	if ttl, _ := props["TimeToLiveSpecification"].(map[string]any); ttl["Enabled"] != true || ttl["AttributeName"] == nil {
		t.Errorf("TimeToLiveSpecification %v", props["TimeToLiveSpecification"])
	}
	if p, _ := props["PointInTimeRecoverySpecification"].(map[string]any); p["PointInTimeRecoveryEnabled"] != true {
		t.Errorf("PointInTimeRecoverySpecification %v", props["PointInTimeRecoverySpecification"])
	}
	if p, _ := props["SSESpecification"].(map[string]any); p["SSEEnabled"] != true {
		t.Errorf("SSESpecification %v", props["SSESpecification"])
	}
	if g := tp.raw.Globals.Function["Environment"].(map[string]any)["Variables"].(map[string]any)["ORDO_TABLE"]; g != "!Ref "+tables[0] {
		t.Errorf("ORDO_TABLE is %v, want !Ref %s", g, tables[0])
	}
}

func TestOutputs(t *testing.T) {
	tp := load(t)
	for _, o := range []string{"JournalTableName", "OrdersQueueUrl", "OrchestratorQueueUrl", "EffectsQueueUrl",
		"NotificationsQueueUrl", "OrdersStreamName", "EventsStreamName",
		"ApiViewerUrl", "ApiOperatorUrl", "ApiAdminUrl", "ApiViewerRoleArn", "ApiOperatorRoleArn", "ApiAdminRoleArn"} {
		if tp.raw.Outputs[o]["Value"] == nil {
			t.Errorf("no output %s", o)
		}
	}
}

func TestParameters(t *testing.T) {
	tp := load(t)
	for _, p := range []string{"LogLevel", "StepTimeout", "OrchestratorTimeout", "IndexShards", "StepInvoke"} {
		if tp.raw.Parameters[p] == nil {
			t.Errorf("no parameter %s", p)
		}
	}
}

// TestFunctionsBuildForLambda builds every function as SAM's go1.x build
// method does for provided.al2023 on arm64.
func TestFunctionsBuildForLambda(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every function for linux/arm64 (-short)")
	}
	out := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out+string(os.PathSeparator), "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc ./functions/...: %v\n%s", err, b)
	}
	for _, d := range functionDirs(t) {
		if _, err := os.Stat(filepath.Join(out, d)); err != nil {
			t.Errorf("functions/%s built no binary: %v", d, err)
		}
	}
}

// TestPeakAlarms checks the alarms a team watches through a peak: throttled
// journal writes (the table and each of its indexes: a hot index partition
// throttles the table's writes too) and reads, a throttled orchestrator,
// and a backlog on every queue a function consumes.
func TestPeakAlarms(t *testing.T) {
	tp := load(t)
	alarms := tp.alarms()
	has := func(ns, metric string, dims map[string]string) bool {
		for _, a := range alarms {
			if a["Namespace"] != ns || a["MetricName"] != metric || a["ComparisonOperator"] != "GreaterThanThreshold" {
				continue
			}
			ok := true
			for n, v := range dims {
				ok = ok && dimension(a, n) == v
			}
			if ds, _ := a["Dimensions"].([]any); ok && len(ds) == len(dims) {
				return true
			}
		}
		return false
	}
	tables := tp.ofType("AWS::DynamoDB::Table")
	if len(tables) != 1 {
		t.Fatalf("tables %v, want one journal table", tables)
	}
	table := map[string]string{"TableName": "!Ref " + tables[0]}
	for _, m := range []string{"WriteThrottleEvents", "ReadThrottleEvents"} {
		if !has("AWS/DynamoDB", m, table) {
			t.Errorf("no alarm on the journal table's %s", m)
		}
	}
	ixs, _ := tp.raw.Resources[tables[0]].Properties["GlobalSecondaryIndexes"].([]any)
	if len(ixs) == 0 {
		t.Fatal("the journal table declares no indexes")
	}
	for _, ix := range ixs {
		name := fmt.Sprint(ix.(map[string]any)["IndexName"])
		if !has("AWS/DynamoDB", "WriteThrottleEvents", map[string]string{"TableName": table["TableName"], "GlobalSecondaryIndexName": name}) {
			t.Errorf("no alarm on WriteThrottleEvents of the index %s", name)
		}
	}
	if !has("AWS/Lambda", "Throttles", map[string]string{"FunctionName": "!Ref OrchestratorFunction"}) {
		t.Error("no alarm on the orchestrator's Throttles")
	}
	queues := 0
	for _, e := range tp.events() {
		q, ok := getAttTarget(e.props["Queue"], "Arn")
		if e.typ != "SQS" || !ok {
			continue
		}
		queues++
		if !has("AWS/SQS", "ApproximateAgeOfOldestMessage", map[string]string{"QueueName": "!GetAtt " + q + ".QueueName"}) {
			t.Errorf("queue %s (consumed by %s): no alarm on ApproximateAgeOfOldestMessage", q, e.fn)
		}
	}
	if queues < 3 {
		t.Errorf("found %d consumed queues, want the orders, concessions, orchestrator and effects queues", queues)
	}
}
