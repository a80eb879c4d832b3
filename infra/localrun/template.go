package localrun

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	"github.com/awslabs/goformation/v7/cloudformation/kinesis"
	"github.com/awslabs/goformation/v7/cloudformation/kms"
	"github.com/awslabs/goformation/v7/cloudformation/s3"
	"github.com/awslabs/goformation/v7/cloudformation/secretsmanager"
	"github.com/awslabs/goformation/v7/cloudformation/sqs"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Template is the part of a SAM template that localrun runs.
type Template struct {
	Path       string // template file
	Dir        string // directory CodeUri paths are relative to
	Tables     map[string]*dynamodb.Table
	Queues     map[string]*sqs.Queue
	Streams    map[string]*kinesis.Stream
	Secrets    map[string]*secretsmanager.Secret
	KMSAliases map[string]*kms.Alias
	Buckets    map[string]*s3.Bucket
	Functions  []*FunctionSpec
}

// FunctionSpec is one AWS::Serverless::Function. String fields may hold
// unresolved placeholders until the stack's resources exist.
type FunctionSpec struct {
	LogicalID   string
	Name        string // FunctionName, or "" for a generated one
	CodeURI     string
	Runtime     string
	Handler     string // the runtime's handler: "bootstrap", or "index.handler" for Node
	BuildMethod string
	Timeout     int // seconds
	MemorySize  int
	Env         map[string]string
	Events      []EventSpec
}

// IsNode reports whether the function runs on a Node.js managed runtime
// (nodejs20.x, ...): localrun runs it with the local node and its own
// runtime-interface client instead of building it.
func (f *FunctionSpec) IsNode() bool { return strings.HasPrefix(f.Runtime, "nodejs") }

// EventSpec is one SQS or Kinesis event source of a function.
type EventSpec struct {
	Name                    string
	Type                    string // "SQS" or "Kinesis"
	Source                  string // Queue or Stream ARN (placeholder until resolved)
	BatchSize               int
	Enabled                 bool
	ReportBatchItemFailures bool
	StartingPosition        string // Kinesis: TRIM_HORIZON, LATEST
	MaximumRetryAttempts    int    // Kinesis: -1 = until the record expires
}

// rawTemplate reads what goformation's typed model drops (event source
// properties) from goformation's intrinsic-processed JSON.
type rawTemplate struct {
	Resources map[string]struct {
		Type       string
		Properties struct {
			Events map[string]struct {
				Type       string
				Properties struct {
					Queue, Stream         string
					BatchSize             *int
					Enabled               *bool
					FunctionResponseTypes []string
					StartingPosition      string
					MaximumRetryAttempts  *int
				}
			}
		}
	}
}

var placeholderRE = regexp.MustCompile(`\{\{ordo:(Ref|GetAtt):([^}]+)\}\}`)

func refPlaceholder(name string) string { return "{{ordo:Ref:" + name + "}}" }
func getAttPlaceholder(res, attr string) string {
	return "{{ordo:GetAtt:" + res + "." + attr + "}}"
}

// isParameter reports whether name is declared under Parameters.
func isParameter(template interface{}, name string) bool {
	t, _ := template.(map[string]interface{})
	ps, _ := t["Parameters"].(map[string]interface{})
	_, ok := ps[name]
	return ok
}

func refHandler(_ string, input interface{}, template interface{}) interface{} {
	name, ok := input.(string)
	if !ok {
		return nil
	}
	if name == "AWS::NoValue" {
		return nil
	}
	if isParameter(template, name) {
		return intrinsics.Ref("Ref", name, template)
	}
	return refPlaceholder(name) // resources and pseudo parameters
}

func getAttHandler(_ string, input interface{}, _ interface{}) interface{} {
	var parts []string
	switch v := input.(type) {
	case string: // !GetAtt X.Attr
		parts = strings.SplitN(v, ".", 2)
	case []interface{}: // Fn::GetAtt: [X, Attr]
		for _, p := range v {
			s, _ := p.(string)
			parts = append(parts, s)
		}
	}
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return nil
	}
	return getAttPlaceholder(parts[0], parts[1])
}

var subVarRE = regexp.MustCompile(`\$\{([^}]+)\}`)

func subHandler(_ string, input interface{}, template interface{}) interface{} {
	var src string
	vars := map[string]interface{}{}
	switch v := input.(type) {
	case string:
		src = v
	case []interface{}:
		if len(v) != 2 {
			return nil
		}
		src, _ = v[0].(string)
		vars, _ = v[1].(map[string]interface{})
	default:
		return nil
	}
	return subVarRE.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if val, ok := vars[name]; ok {
			return fmt.Sprint(val)
		}
		if res, attr, ok := strings.Cut(name, "."); ok {
			return getAttPlaceholder(res, attr)
		}
		if v := refHandler("Ref", name, template); v != nil {
			return fmt.Sprint(v)
		}
		return ""
	})
}

// ParseTemplate reads a SAM template with goformation. params override
// Parameters defaults.
func ParseTemplate(path string, params map[string]string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	overrides := map[string]interface{}{}
	for k, v := range params {
		overrides[k] = v
	}
	opts := &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref": refHandler, "Fn::GetAtt": getAttHandler, "Fn::Sub": subHandler,
		},
		ParameterOverrides: overrides,
		EvaluateConditions: true,
	}
	processed, err := intrinsics.ProcessYAML(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cf, err := goformation.ParseJSONWithOptions(processed, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var raw rawTemplate
	if err := json.Unmarshal(processed, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	abs, _ := filepath.Abs(path)
	t := &Template{
		Path:       abs,
		Dir:        filepath.Dir(abs),
		Tables:     cf.GetAllDynamoDBTableResources(),
		Queues:     cf.GetAllSQSQueueResources(),
		Streams:    cf.GetAllKinesisStreamResources(),
		Secrets:    cf.GetAllSecretsManagerSecretResources(),
		KMSAliases: cf.GetAllKMSAliasResources(),
		Buckets:    cf.GetAllS3BucketResources(),
	}
	if err := t.readFunctions(cf, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func (t *Template) readFunctions(cf *cloudformation.Template, raw *rawTemplate) error {
	g, err := cf.GetServerlessGlobalFunction()
	if err != nil {
		g = nil // no Globals.Function
	}
	fns := cf.GetAllServerlessFunctionResources()
	ids := make([]string, 0, len(fns))
	for id := range fns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		f := fns[id]
		spec := &FunctionSpec{LogicalID: id, Timeout: 3, MemorySize: 128, Env: map[string]string{}}
		if g != nil {
			if g.Environment != nil {
				for k, v := range g.Environment.Variables {
					spec.Env[k] = v
				}
			}
			setInt(&spec.Timeout, g.Timeout)
			setInt(&spec.MemorySize, g.MemorySize)
			setStr(&spec.Runtime, g.Runtime)
			setStr(&spec.Handler, g.Handler)
			if g.CodeUri != nil && g.CodeUri.String != nil {
				spec.CodeURI = *g.CodeUri.String
			}
		}
		if f.Environment != nil {
			for k, v := range f.Environment.Variables {
				spec.Env[k] = v
			}
		}
		setInt(&spec.Timeout, f.Timeout)
		setInt(&spec.MemorySize, f.MemorySize)
		setStr(&spec.Runtime, f.Runtime)
		setStr(&spec.Handler, f.Handler)
		setStr(&spec.Name, f.FunctionName)
		if f.CodeUri != nil && f.CodeUri.String != nil {
			spec.CodeURI = *f.CodeUri.String
		}
		if spec.CodeURI == "" {
			return fmt.Errorf("function %s: no local CodeUri", id)
		}
		if bm, ok := f.AWSCloudFormationMetadata["BuildMethod"].(string); ok {
			spec.BuildMethod = bm
		}
		if spec.IsNode() {
			if spec.BuildMethod != "" || !strings.Contains(spec.Handler, ".") {
				return fmt.Errorf("function %s: a %s function wants Handler FILE.EXPORT (e.g. index.handler) and no BuildMethod, got Handler %q, BuildMethod %q",
					id, spec.Runtime, spec.Handler, spec.BuildMethod)
			}
		} else if spec.BuildMethod != "go1.x" && !strings.HasPrefix(spec.Runtime, "provided") && spec.Runtime != "go1.x" {
			return fmt.Errorf("function %s: only Go functions (BuildMethod go1.x) and Node functions (nodejs*) are supported, got runtime %q", id, spec.Runtime)
		}
		evs := raw.Resources[id].Properties.Events
		names := make([]string, 0, len(evs))
		for n := range evs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ev := evs[n]
			p := ev.Properties
			e := EventSpec{Name: n, Type: ev.Type, Enabled: true, MaximumRetryAttempts: -1, StartingPosition: p.StartingPosition}
			switch ev.Type {
			case "SQS":
				e.Source, e.BatchSize = p.Queue, 10
			case "Kinesis":
				e.Source, e.BatchSize = p.Stream, 100
			default:
				continue // other event types are not emulated
			}
			setInt(&e.BatchSize, p.BatchSize)
			setInt(&e.MaximumRetryAttempts, p.MaximumRetryAttempts)
			if p.Enabled != nil {
				e.Enabled = *p.Enabled
			}
			for _, rt := range p.FunctionResponseTypes {
				e.ReportBatchItemFailures = e.ReportBatchItemFailures || rt == "ReportBatchItemFailures"
			}
			if e.Source == "" {
				return fmt.Errorf("function %s event %s: no Queue/Stream", id, n)
			}
			spec.Events = append(spec.Events, e)
		}
		t.Functions = append(t.Functions, spec)
	}
	return nil
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setStr(dst *string, v *string) {
	if v != nil && *v != "" {
		*dst = *v
	}
}

// resolver fills placeholders with the values of created resources.
type resolver map[string]string // "Ref:X" / "GetAtt:X.Attr" -> value

func (r resolver) resolve(s string) (string, error) {
	var missing []string
	out := placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholderRE.FindStringSubmatch(m)
		if v, ok := r[sub[1]+":"+sub[2]]; ok {
			return v
		}
		missing = append(missing, "!"+sub[1]+" "+sub[2])
		return m
	})
	if len(missing) > 0 {
		return out, fmt.Errorf("cannot resolve %s", strings.Join(missing, ", "))
	}
	return out, nil
}
