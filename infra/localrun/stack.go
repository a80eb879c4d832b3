package localrun

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Options configure Up.
type Options struct {
	// Template is the SAM template (default "template.yaml").
	Template string
	// Templates are more SAM templates run beside Template in the same
	// stack: a team's own stack of step functions beside the platform's.
	// Their PlatformStack parameter, when they declare one, is StackName,
	// so "${PlatformStack}-<function>" names the functions the platform's
	// orchestrator invokes.
	Templates []string
	// StackName prefixes generated resource names (default "ordo-local").
	StackName string
	// Parameters override the template's Parameters defaults.
	Parameters map[string]string
	// BuildDir receives the function binaries (default: a temporary
	// directory removed by Close).
	BuildDir string
	// Concurrency is AWS_LAMBDA_MAX_CONCURRENCY for each bootstrap (default 4).
	Concurrency int
	// SQSPollers is the number of concurrent pollers per SQS event source
	// (default 2; always 1 for FIFO queues).
	SQSPollers int
	// StateFile, if set, receives the stack's Status as JSON while it runs
	// (see ReadState), so `ordo local status|down` in another process can
	// find it. Close removes it.
	StateFile string
	// SQSWaitSeconds is the pollers' ReceiveMessage long poll (default 5).
	SQSWaitSeconds int
	// KinesisIdle is the pause after an empty GetRecords (default 250ms).
	KinesisIdle time.Duration
	// ExtraEnv is added to every function's environment.
	ExtraEnv map[string]string
	// Log receives build messages and prefixed function output (default os.Stderr).
	Log io.Writer
	// Config is the AWS configuration; nil loads the SDK default
	// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB, ...).
	Config *aws.Config
}

// Status is a snapshot of a running stack.
type Status struct {
	StackName string          `json:"stackName"`
	RunnerPID int             `json:"runnerPid"` // the process running Up
	UpdatedAt time.Time       `json:"updatedAt"`
	Template  string          `json:"template"`
	Resources []Resource      `json:"resources"`
	Processes []ProcessStatus `json:"processes"`
	Pollers   []PollerStatus  `json:"pollers"`
}

// Stack is a running local stack. Close it to stop processes and pollers.
type Stack struct {
	opts      Options
	tmpl      *Template
	extra     []*Template
	cl        *clients
	lambda    *lambda.Client
	resources []*Resource
	sups      []*supervisor
	pollers   []interface{ status() PollerStatus }

	cancel   context.CancelFunc
	wg       sync.WaitGroup
	tmpBuild string
	once     sync.Once
}

// Up creates the template's resources, builds and starts its functions and
// starts polling their event sources. On error everything started is stopped.
func Up(ctx context.Context, opts Options) (*Stack, error) {
	if opts.Template == "" {
		opts.Template = "template.yaml"
	}
	if opts.StackName == "" {
		opts.StackName = "ordo-local"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.SQSPollers <= 0 {
		opts.SQSPollers = 2
	}
	if opts.SQSWaitSeconds <= 0 {
		opts.SQSWaitSeconds = 5
	}
	if opts.KinesisIdle <= 0 {
		opts.KinesisIdle = 250 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	opts.Log = &lockedWriter{w: opts.Log}
	var cfg aws.Config
	if opts.Config != nil {
		cfg = *opts.Config
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("load AWS config: %w", err)
		}
	}
	tmpl, err := ParseTemplate(opts.Template, opts.Parameters)
	if err != nil {
		return nil, err
	}
	var extra []*Template
	for _, path := range opts.Templates {
		params := map[string]string{"PlatformStack": opts.StackName}
		for k, v := range opts.Parameters {
			params[k] = v
		}
		t, err := ParseTemplate(path, params)
		if err != nil {
			return nil, err
		}
		extra = append(extra, t)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s := &Stack{opts: opts, tmpl: tmpl, extra: extra, cl: newClients(cfg), lambda: lambda.NewFromConfig(cfg), cancel: cancel}
	if err := s.up(ctx, runCtx); err != nil {
		s.Close()
		return nil, err
	}
	if opts.StateFile != "" {
		if err := s.writeState(); err != nil {
			s.Close()
			return nil, err
		}
		s.go_(runCtx, s.stateLoop)
	}
	return s, nil
}

func (s *Stack) name(id string, explicit *string) (string, error) {
	if explicit != nil && *explicit != "" {
		return s.pseudo().resolve(*explicit)
	}
	return s.opts.StackName + "-" + id, nil
}

// pseudo resolves the pseudo parameters.
func (s *Stack) pseudo() resolver {
	return resolver{
		"Ref:AWS::Region": s.cl.cfg.Region, "Ref:AWS::AccountId": "000000000000",
		"Ref:AWS::StackName": s.opts.StackName, "Ref:AWS::Partition": "aws",
		"Ref:AWS::URLSuffix": "amazonaws.com",
		"Ref:AWS::StackId":   "arn:aws:cloudformation:" + s.cl.cfg.Region + ":000000000000:stack/" + s.opts.StackName + "/local",
	}
}

func (s *Stack) up(ctx, runCtx context.Context) error {
	res := s.pseudo()
	all := append([]*Template{s.tmpl}, s.extra...)
	for _, t := range all {
		if err := s.createResources(ctx, t, res); err != nil {
			return err
		}
	}
	// Function names first: environments may refer to other functions.
	names := map[string]string{}
	for _, t := range all {
		for _, f := range t.Functions {
			n := s.opts.StackName + "-" + f.LogicalID
			if f.Name != "" {
				var err error
				if n, err = res.resolve(f.Name); err != nil {
					return fmt.Errorf("function %s name: %w", f.LogicalID, err)
				}
			}
			names[f.LogicalID] = n
			res["Ref:"+f.LogicalID] = n
			res["GetAtt:"+f.LogicalID+".Arn"] = "arn:aws:lambda:" + s.cl.cfg.Region + ":000000000000:function:" + n
		}
	}
	buildDir := s.opts.BuildDir
	if buildDir == "" {
		d, err := os.MkdirTemp("", "ordo-localrun-")
		if err != nil {
			return err
		}
		buildDir, s.tmpBuild = d, d
	}
	for i, t := range all {
		dir := buildDir
		if i > 0 {
			dir = filepath.Join(buildDir, fmt.Sprintf("template-%d", i))
		}
		if err := s.startFunctions(ctx, runCtx, t, names, dir, res); err != nil {
			return err
		}
	}
	return nil
}

// createResources creates t's tables, queues and streams.
func (s *Stack) createResources(ctx context.Context, t *Template, res resolver) error {
	for _, id := range sortedKeys(t.Tables) {
		name, err := s.name(id, t.Tables[id].TableName)
		if err != nil {
			return fmt.Errorf("table %s: %w", id, err)
		}
		r, err := s.cl.createTable(ctx, id, name, t.Tables[id])
		if err != nil {
			return err
		}
		s.add(res, r)
	}
	var queues []*Resource
	for _, id := range sortedKeys(t.Queues) {
		q := t.Queues[id]
		name, err := s.name(id, q.QueueName)
		if err != nil {
			return fmt.Errorf("queue %s: %w", id, err)
		}
		if q.FifoQueue != nil && *q.FifoQueue && !strings.HasSuffix(name, ".fifo") {
			name += ".fifo"
		}
		r, err := s.cl.createQueue(ctx, id, name, q)
		if err != nil {
			return err
		}
		s.add(res, r)
		queues = append(queues, r)
	}
	for _, id := range sortedKeys(t.Streams) {
		name, err := s.name(id, t.Streams[id].Name)
		if err != nil {
			return fmt.Errorf("stream %s: %w", id, err)
		}
		r, err := s.cl.createStream(ctx, id, name, t.Streams[id])
		if err != nil {
			return err
		}
		s.add(res, r)
	}
	for _, id := range sortedKeys(t.Secrets) {
		name, err := s.name(id, t.Secrets[id].Name)
		if err != nil {
			return fmt.Errorf("secret %s: %w", id, err)
		}
		r, err := s.cl.createSecret(ctx, id, name, t.Secrets[id])
		if err != nil {
			return err
		}
		s.add(res, r)
	}
	for _, id := range sortedKeys(t.KMSAliases) {
		name, err := s.pseudo().resolve(t.KMSAliases[id].AliasName)
		if err != nil {
			return fmt.Errorf("KMS alias %s: %w", id, err)
		}
		r, keys, err := s.cl.createKMSAlias(ctx, id, name, t.KMSAliases[id])
		if err != nil {
			return err
		}
		s.add(res, r)
		for _, k := range keys {
			addToResolver(res, k) // resolvable, not deleted: a key outlives the stack's runs
		}
	}
	for _, id := range sortedKeys(t.Buckets) {
		name, err := s.bucketName(id, t.Buckets[id])
		if err != nil {
			return fmt.Errorf("bucket %s: %w", id, err)
		}
		r, err := s.cl.createBucket(ctx, id, name)
		if err != nil {
			return err
		}
		s.add(res, r)
	}
	for _, r := range queues {
		if q := t.Queues[r.LogicalID]; q.RedrivePolicy != nil {
			if err := s.cl.setRedrive(ctx, r, q.RedrivePolicy, res); err != nil {
				return err
			}
		}
	}
	return nil
}

// startFunctions builds t's Go functions into buildDir, prepares its Node
// functions, and starts them all.
func (s *Stack) startFunctions(ctx, runCtx context.Context, t *Template, names map[string]string, buildDir string, res resolver) error {
	var uris []string
	for _, f := range t.Functions {
		if !f.IsNode() {
			uris = append(uris, f.CodeURI)
		}
	}
	bins := map[string]string{}
	if len(uris) > 0 {
		var err error
		if bins, err = buildFunctions(ctx, t.Dir, uris, buildDir, s.opts.Log); err != nil {
			return err
		}
	}
	for _, f := range t.Functions {
		bin, taskRoot := bins[f.CodeURI], ""
		if f.IsNode() {
			var err error
			if bin, taskRoot, err = nodeBootstrap(t, f, buildDir); err != nil {
				return err
			}
		}
		if err := s.startFunction(ctx, runCtx, f, names[f.LogicalID], bin, taskRoot, res); err != nil {
			return err
		}
	}
	return nil
}

func (s *Stack) add(res resolver, r *Resource) {
	s.resources = append(s.resources, r)
	addToResolver(res, r)
}

// startFunction registers f with the Lambda emulator and runs bin against
// its runtime API; taskRoot, if set, is LAMBDA_TASK_ROOT (else bin's
// directory).
func (s *Stack) startFunction(ctx, runCtx context.Context, f *FunctionSpec, name, bin, taskRoot string, res resolver) error {
	env := map[string]string{}
	for k, v := range f.Env {
		rv, err := res.resolve(v)
		if err != nil {
			return fmt.Errorf("function %s env %s: %w", f.LogicalID, k, err)
		}
		env[k] = rv
	}
	if err := s.register(ctx, f, name, env); err != nil {
		return err
	}
	runtimeAPI, err := s.runtimeAPI(name)
	if err != nil {
		return err
	}
	s.resources = append(s.resources, &Resource{LogicalID: f.LogicalID, Type: "AWS::Serverless::Function", Name: name,
		ARN: res["GetAtt:"+f.LogicalID+".Arn"]})
	if taskRoot == "" {
		taskRoot = filepath.Dir(bin)
	}
	procEnv, err := s.processEnv(ctx, f, name, env, runtimeAPI, taskRoot)
	if err != nil {
		return err
	}
	out := &prefixWriter{w: s.opts.Log, prefix: f.LogicalID}
	sup := startSupervisor(runCtx, f.LogicalID, bin, procEnv, out)
	s.sups = append(s.sups, sup)
	s.wg.Add(1)
	go func() { defer s.wg.Done(); <-sup.done }()
	iv := &invoker{lambda: s.lambda, fn: name, log: s.opts.Log}
	for _, ev := range f.Events {
		if !ev.Enabled {
			continue
		}
		if err := s.startPoller(ctx, runCtx, f, iv, ev, res); err != nil {
			return err
		}
	}
	return nil
}

// register creates the function on the Lambda emulator (replacing an old one).
func (s *Stack) register(ctx context.Context, f *FunctionSpec, name string, env map[string]string) error {
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.Create("bootstrap")
	_, _ = w.Write([]byte("#!/bin/sh\n# run locally by ordo's localrun\n"))
	_ = zw.Close()
	in := &lambda.CreateFunctionInput{
		FunctionName: aws.String(name), Runtime: lambdatypes.RuntimeProvidedal2023, Handler: aws.String("bootstrap"),
		Role: aws.String("arn:aws:iam::000000000000:role/lambda-role"), Code: &lambdatypes.FunctionCode{ZipFile: zbuf.Bytes()},
		Timeout: aws.Int32(int32(f.Timeout)), MemorySize: aws.Int32(int32(f.MemorySize)),
		Environment: &lambdatypes.Environment{Variables: env},
	}
	_, err := s.lambda.CreateFunction(ctx, in)
	var conflict *lambdatypes.ResourceConflictException
	if errors.As(err, &conflict) {
		if _, err = s.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(name)}); err == nil {
			_, err = s.lambda.CreateFunction(ctx, in)
		}
	}
	if err != nil {
		return fmt.Errorf("function %s: create on the Lambda emulator: %w", f.LogicalID, err)
	}
	return nil
}

// lambdaEndpoint is the Lambda emulator's base URL (kumo).
func (s *Stack) lambdaEndpoint() string {
	if e := os.Getenv("AWS_ENDPOINT_URL_LAMBDA"); e != "" {
		return e
	}
	return aws.ToString(s.cl.cfg.BaseEndpoint)
}

func (s *Stack) runtimeAPI(name string) (string, error) {
	e := s.lambdaEndpoint()
	if e == "" {
		return "", errors.New("no Lambda endpoint: set AWS_ENDPOINT_URL (kumo) — source infra/env.sh")
	}
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(e, "http://"), "https://"), "/")
	return host + "/_runtime/" + name, nil
}

// processEnv is the bootstrap's environment: Lambda's reserved variables,
// the function's variables, credentials and the emulator endpoints.
func (s *Stack) processEnv(ctx context.Context, f *FunctionSpec, name string, env map[string]string, runtimeAPI, dir string) ([]string, error) {
	creds, err := s.cl.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	m := map[string]string{
		"PATH": os.Getenv("PATH"), "TZ": ":UTC", "LANG": "en_US.UTF-8",
		"AWS_LAMBDA_RUNTIME_API":          runtimeAPI,
		"AWS_LAMBDA_MAX_CONCURRENCY":      strconv.Itoa(s.opts.Concurrency),
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(f.MemorySize),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_EXECUTION_ENV":               "AWS_Lambda_" + f.Runtime,
		"_HANDLER":                        handler(f),
		"LAMBDA_TASK_ROOT":                dir,
		"AWS_REGION":                      s.cl.cfg.Region,
		"AWS_DEFAULT_REGION":              s.cl.cfg.Region,
		"AWS_ACCESS_KEY_ID":               creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":           creds.SecretAccessKey,
		"AWS_SESSION_TOKEN":               creds.SessionToken,
	}
	if tmp := os.Getenv("TMPDIR"); tmp != "" {
		m["TMPDIR"] = tmp
	}
	for _, kv := range os.Environ() {
		if k, v, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_ENDPOINT_URL") {
			m[k] = v
		}
	}
	if _, ok := m["AWS_ENDPOINT_URL"]; !ok && s.cl.cfg.BaseEndpoint != nil {
		m["AWS_ENDPOINT_URL"] = *s.cl.cfg.BaseEndpoint
	}
	for k, v := range env {
		m[k] = v
	}
	for k, v := range s.opts.ExtraEnv {
		m[k] = v
	}
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out, nil
}

func (s *Stack) resourceByARN(arn string) *Resource {
	for _, r := range s.resources {
		if r.ARN == arn {
			return r
		}
	}
	return nil
}

func (s *Stack) startPoller(ctx, runCtx context.Context, f *FunctionSpec, iv *invoker, ev EventSpec, res resolver) error {
	src, err := res.resolve(ev.Source)
	if err != nil {
		return fmt.Errorf("function %s event %s: %w", f.LogicalID, ev.Name, err)
	}
	r := s.resourceByARN(src)
	if r == nil {
		return fmt.Errorf("function %s event %s: source %s is not a queue or stream of this template", f.LogicalID, ev.Name, src)
	}
	// Retry Lambda-service errors (e.g. a bootstrap restarting) for as long
	// as the function could have run.
	retryFor := time.Duration(f.Timeout)*time.Second + 30*time.Second
	switch ev.Type {
	case "SQS":
		n := s.opts.SQSPollers
		if strings.HasSuffix(r.Name, ".fifo") {
			n = 1
		}
		for range n {
			p := &sqsPoller{iv: iv, sqs: s.cl.sqs, queueURL: r.URL, queueARN: r.ARN, region: s.cl.cfg.Region, ev: ev,
				wait: int32(s.opts.SQSWaitSeconds), retryFor: retryFor}
			p.st = PollerStatus{Function: f.LogicalID, Event: ev.Name, Type: ev.Type, Source: r.Name}
			s.go_(runCtx, p.run)
			s.pollers = append(s.pollers, p)
		}
	case "Kinesis":
		shards, err := s.cl.kinesis.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(r.Name)})
		if err != nil {
			return fmt.Errorf("stream %s: list shards: %w", r.Name, err)
		}
		for _, sh := range shards.Shards {
			typ := kintypes.ShardIteratorType(ev.StartingPosition)
			if typ == "" {
				typ = kintypes.ShardIteratorTypeLatest
			}
			it, err := s.cl.kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(r.Name), ShardId: sh.ShardId, ShardIteratorType: typ})
			if err != nil {
				return fmt.Errorf("stream %s: shard iterator: %w", r.Name, err)
			}
			p := &kinesisPoller{iv: iv, kinesis: s.cl.kinesis, streamName: r.Name, streamARN: r.ARN, shard: aws.ToString(sh.ShardId),
				region: s.cl.cfg.Region, ev: ev, iterator: aws.ToString(it.ShardIterator), idle: s.opts.KinesisIdle, retryFor: retryFor}
			p.st = PollerStatus{Function: f.LogicalID, Event: ev.Name, Type: ev.Type, Source: r.Name, Shard: p.shard}
			s.go_(runCtx, p.run)
			s.pollers = append(s.pollers, p)
		}
	}
	return nil
}

func (s *Stack) go_(ctx context.Context, f func(context.Context)) {
	s.wg.Add(1)
	go func() { defer s.wg.Done(); f(ctx) }()
}

// Status reports the stack's resources, processes and pollers.
func (s *Stack) Status() Status {
	st := Status{StackName: s.opts.StackName, Template: s.tmpl.Path, RunnerPID: os.Getpid(), UpdatedAt: time.Now().UTC()}
	for _, r := range s.resources {
		st.Resources = append(st.Resources, *r)
	}
	for _, p := range s.sups {
		st.Processes = append(st.Processes, p.status())
	}
	for _, p := range s.pollers {
		st.Pollers = append(st.Pollers, p.status())
	}
	return st
}

// Resource returns the resource with the given logical ID, or nil.
func (s *Stack) Resource(logicalID string) *Resource {
	for _, r := range s.resources {
		if r.LogicalID == logicalID {
			c := *r
			return &c
		}
	}
	return nil
}

// Close stops the pollers and bootstrap processes and waits for them. The
// emulators' resources are left in place (see Down).
func (s *Stack) Close() error {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
		if s.opts.StateFile != "" {
			_ = os.Remove(s.opts.StateFile)
		}
		if s.tmpBuild != "" {
			_ = os.RemoveAll(s.tmpBuild)
		}
	})
	return nil
}

// Down closes the stack and deletes the functions, tables, queues and
// streams it created.
func (s *Stack) Down(ctx context.Context) error {
	_ = s.Close()
	var errs []error
	for _, r := range s.resources {
		if r.Existed {
			continue
		}
		var err error
		if r.Type == "AWS::Serverless::Function" {
			_, err = s.lambda.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String(r.Name)})
		} else {
			err = s.cl.deleteResource(ctx, r)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete %s %s: %w", r.Type, r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// lockedWriter serialises writes so log lines never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
