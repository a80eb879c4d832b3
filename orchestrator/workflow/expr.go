package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"reflect"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"google.golang.org/protobuf/types/known/structpb"
)

// Vars are the values a step's expressions see.
type Vars struct {
	Input   any            // decoded run input
	State   map[string]any // decoded run state
	Steps   map[string]any // name -> {"output": ..., "skipped": bool}
	Attempt int
	// Item and Index are a map step's current element (Input only).
	Item  any
	Index int
}

// compiled holds a definition's compiled expressions.
type compiled struct {
	hash  string
	index map[string]int         // step name -> position
	progs map[string]cel.Program // "step/field" or "/field"
	succ  map[string][]string    // step name -> steps right after it
	// sensitive are the parsed Sensitive paths.
	sensitive []sensitive.Path
}

var (
	envOnce sync.Once
	runEnv  *cel.Env
	msgEnv  *cel.Env
	envErr  error
)

func envs() (*cel.Env, *cel.Env, error) {
	envOnce.Do(func() {
		runEnv, envErr = cel.NewEnv(
			cel.Variable("input", cel.DynType),
			cel.Variable("state", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("steps", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("attempt", cel.IntType),
			cel.Variable("item", cel.DynType),
			cel.Variable("index", cel.IntType),
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(MaxExpressionBytes),
		)
		if envErr != nil {
			return
		}
		msgEnv, envErr = cel.NewEnv(
			cel.Variable("message", cel.DynType),
			cel.Variable("input", cel.DynType),
			cel.CrossTypeNumericComparisons(true),
			cel.ParserExpressionSizeLimit(MaxExpressionBytes),
		)
	})
	return runEnv, msgEnv, envErr
}

// compile compiles src in env; want, if not nil, is the required result type.
// Errors quote at most an excerpt of src; the program stops any evaluation
// that would cost more than MaxExpressionCost.
func compile(env *cel.Env, src string, want *cel.Type) (cel.Program, error) {
	if len(src) > MaxExpressionBytes {
		return nil, fmt.Errorf("CEL %s: longer than %d bytes", excerpt(src), MaxExpressionBytes)
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, fmt.Errorf("CEL %s: %s", excerpt(src), shortenMsg(iss.Err().Error()))
	}
	if want != nil && !ast.OutputType().IsAssignableType(want) && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("CEL %s: result is %s, want %s", excerpt(src), ast.OutputType(), want)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(MaxExpressionCost))
	if err != nil {
		return nil, fmt.Errorf("CEL %s: %s", excerpt(src), shortenMsg(err.Error()))
	}
	return prg, nil
}

func (v Vars) activation() map[string]any {
	state := v.State
	if state == nil {
		state = map[string]any{}
	}
	steps := v.Steps
	if steps == nil {
		steps = map[string]any{}
	}
	return map[string]any{"input": v.Input, "state": state, "steps": steps, "attempt": int64(v.Attempt),
		"item": v.Item, "index": int64(v.Index)}
}

// Has reports whether step (or the workflow, step "") has an expression for
// field.
func (d *Definition) Has(step, field string) bool {
	_, ok := d.c.progs[step+"/"+field]
	return ok
}

// Eval evaluates the expression of step (or of the workflow when step is "")
// named by field ("when", "input", "output", "error", "until", "key",
// "deferredKey") and returns its value as plain Go (JSON-shaped) data.
func (d *Definition) Eval(step, field string, v Vars) (any, error) {
	if d.c == nil {
		return nil, fmt.Errorf("workflow %s: not built", d.Name)
	}
	prg, ok := d.c.progs[step+"/"+field]
	if !ok {
		return nil, fmt.Errorf("workflow %s: step %q has no %s expression", d.Name, step, field)
	}
	out, _, err := prg.Eval(v.activation())
	if err != nil {
		return nil, fmt.Errorf("workflow %s: step %q: %s: %w", d.Name, step, field, err)
	}
	return Native(out)
}

// EvalTrigger evaluates trigger i's field ("when", "input", "key") over a
// decoded message.
func (d *Definition) EvalTrigger(i int, field string, message any) (any, error) {
	prg, ok := d.c.progs[fmt.Sprintf("trigger%d/%s", i, field)]
	if !ok {
		return nil, fmt.Errorf("workflow %s: trigger %d has no %s expression", d.Name, i, field)
	}
	out, _, err := prg.Eval(map[string]any{"message": message, "input": message})
	if err != nil {
		return nil, fmt.Errorf("workflow %s: trigger %d: %s: %w", d.Name, i, field, err)
	}
	return Native(out)
}

// EvalKey evaluates the workflow's Key over input; "" when it has none.
func (d *Definition) EvalKey(input any) (string, error) {
	if !d.Has("", "key") {
		return "", nil
	}
	v, err := d.Eval("", "key", Vars{Input: input})
	if err != nil {
		return "", err
	}
	return KeyString(v), nil
}

// KeyString renders a key value as a string.
func KeyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return fmt.Sprint(x)
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

var valueType = reflect.TypeFor[*structpb.Value]()

// Native converts a CEL value to JSON-shaped Go data.
func Native(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Bool:
		return bool(x), nil
	case types.String:
		return string(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.Null:
		return nil, nil
	}
	// Maps and lists are converted element by element: converting them
	// whole through structpb would turn every int into a float64, and an
	// int beyond 2^53 into a string.
	switch x := v.(type) {
	case traits.Mapper:
		if raw, ok := v.Value().(map[string]any); ok {
			return raw, nil
		}
		out := map[string]any{}
		for it := x.Iterator(); it.HasNext() == types.True; {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("CEL result %v is not JSON: key %v is not a string", v, k)
			}
			e, err := Native(x.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = e
		}
		return out, nil
	case traits.Lister:
		if raw, ok := v.Value().([]any); ok {
			return raw, nil
		}
		n, _ := x.Size().(types.Int)
		out := make([]any, 0, n)
		for i := types.Int(0); i < n; i++ {
			e, err := Native(x.Get(i))
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		return out, nil
	}
	pv, err := v.ConvertToNative(valueType)
	if err != nil {
		return nil, fmt.Errorf("CEL result %v is not JSON: %w", v, err)
	}
	return pv.(*structpb.Value).AsInterface(), nil
}

// DecodeJSON decodes JSON into the values expressions see: objects, arrays,
// strings, bools, nil, and numbers as int64 when integral (so `qty + 1`
// works) or float64 otherwise. Empty input decodes to nil.
func DecodeJSON(raw []byte) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}
