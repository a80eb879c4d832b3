package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// destinations adds what kumo v0.33.1 lacks for asynchronous invocation
// (it runs InvocationType Event invokes but has no EventInvokeConfig API
// and sends no destination records): the PutFunctionEventInvokeConfig,
// UpdateFunctionEventInvokeConfig, GetFunctionEventInvokeConfig and
// DeleteFunctionEventInvokeConfig operations, and, for a function with a
// DestinationConfig, Event invokes handled as Lambda does: accepted with
// 202, run (through kumo, synchronously), retried MaximumRetryAttempts
// times on a function error (default 2), then the outcome sent to the
// OnSuccess or OnFailure SQS queue as Lambda's destination record
// (version, timestamp, requestContext, requestPayload, responseContext,
// responsePayload). Everything else goes to kumo unchanged.
//
// Differences from AWS: retries come after 1 s and 2 s rather than about
// 1 and 2 minutes; only SQS destinations are delivered (SNS, Lambda and
// EventBridge ones are stored and logged as not delivered).
type destinations struct {
	next    http.Handler // kumo
	kumoURL string
	sqs     *sqs.Client
	client  *http.Client
	backoff time.Duration

	mu      sync.Mutex
	configs map[string]*eventInvokeConfig // by function name
	wg      sync.WaitGroup
}

// eventInvokeConfig is the API's FunctionEventInvokeConfig.
type eventInvokeConfig struct {
	FunctionArn              string             `json:"FunctionArn,omitempty"`
	LastModified             float64            `json:"LastModified,omitempty"`
	MaximumRetryAttempts     *int               `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int               `json:"MaximumEventAgeInSeconds,omitempty"`
	DestinationConfig        *destinationConfig `json:"DestinationConfig,omitempty"`
}

type destinationConfig struct {
	OnSuccess *destination `json:"OnSuccess,omitempty"`
	OnFailure *destination `json:"OnFailure,omitempty"`
}

type destination struct {
	Destination string `json:"Destination,omitempty"`
}

// record is Lambda's destination record.
type record struct {
	Version        string `json:"version"`
	Timestamp      string `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError,omitempty"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload,omitempty"`
}

const (
	configPath = "/2019-09-25/functions/"
	invokePath = "/2015-03-31/functions/"
	region     = "us-east-1"
	account    = "000000000000"
)

func newDestinations(next http.Handler, kumoURL string, client *sqs.Client) *destinations {
	return &destinations{next: next, kumoURL: kumoURL, sqs: client, client: &http.Client{},
		backoff: time.Second, configs: map[string]*eventInvokeConfig{}}
}

// functionName is the name in a path segment that may be an ARN or carry a
// qualifier.
func functionName(seg string) string {
	if i := strings.Index(seg, ":function:"); i >= 0 {
		seg = seg[i+len(":function:"):]
	}
	name, _, _ := strings.Cut(seg, ":")
	return name
}

func (d *destinations) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, configPath); ok {
		if name, ok := strings.CutSuffix(rest, "/event-invoke-config"); ok {
			d.serveConfig(w, r, functionName(name))
			return
		}
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, invokePath); ok && r.Method == http.MethodPost &&
		r.Header.Get("X-Amz-Invocation-Type") == "Event" {
		if name, ok := strings.CutSuffix(rest, "/invocations"); ok {
			if cfg := d.config(functionName(name)); cfg != nil && cfg.DestinationConfig != nil {
				d.invokeEvent(w, r, functionName(name), cfg)
				return
			}
		}
	}
	d.next.ServeHTTP(w, r)
}

func (d *destinations) config(name string) *eventInvokeConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.configs[name]
}

func (d *destinations) serveConfig(w http.ResponseWriter, r *http.Request, name string) {
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s:$LATEST", region, account, name)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch r.Method {
	case http.MethodPut, http.MethodPost:
		var in eventInvokeConfig
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			apiError(w, http.StatusBadRequest, "InvalidParameterValueException", err.Error())
			return
		}
		if n := in.MaximumRetryAttempts; n != nil && (*n < 0 || *n > 2) {
			apiError(w, http.StatusBadRequest, "InvalidParameterValueException", "MaximumRetryAttempts must be 0-2")
			return
		}
		old := d.configs[name]
		if r.Method == http.MethodPost && old != nil { // Update merges
			if in.MaximumRetryAttempts == nil {
				in.MaximumRetryAttempts = old.MaximumRetryAttempts
			}
			if in.MaximumEventAgeInSeconds == nil {
				in.MaximumEventAgeInSeconds = old.MaximumEventAgeInSeconds
			}
			if in.DestinationConfig == nil {
				in.DestinationConfig = old.DestinationConfig
			}
		}
		in.FunctionArn, in.LastModified = arn, float64(time.Now().Unix())
		d.configs[name] = &in
		writeJSON(w, http.StatusOK, in)
	case http.MethodGet:
		cfg := d.configs[name]
		if cfg == nil {
			apiError(w, http.StatusNotFound, "ResourceNotFoundException", "The function "+arn+" doesn't have an EventInvokeConfig")
			return
		}
		writeJSON(w, http.StatusOK, cfg)
	case http.MethodDelete:
		delete(d.configs, name)
		w.WriteHeader(http.StatusNoContent)
	default:
		apiError(w, http.StatusMethodNotAllowed, "InvalidRequestContentException", r.Method+" not supported")
	}
}

// invokeEvent accepts an Event invoke and runs it in the background.
func (d *destinations) invokeEvent(w http.ResponseWriter, r *http.Request, name string, cfg *eventInvokeConfig) {
	payload, err := io.ReadAll(r.Body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequestContentException", err.Error())
		return
	}
	id := requestID()
	w.Header().Set("X-Amzn-Requestid", id)
	w.WriteHeader(http.StatusAccepted)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.run(name, r.URL.RequestURI(), r.Header.Clone(), id, payload, cfg)
	}()
}

// run invokes the function synchronously through kumo until it succeeds
// or its retries (or event age) are spent, then sends the record.
func (d *destinations) run(name, uri string, header http.Header, id string, payload []byte, cfg *eventInvokeConfig) {
	retries, maxAge := 2, 6*time.Hour
	if cfg.MaximumRetryAttempts != nil {
		retries = *cfg.MaximumRetryAttempts
	}
	if cfg.MaximumEventAgeInSeconds != nil {
		maxAge = time.Duration(*cfg.MaximumEventAgeInSeconds) * time.Second
	}
	var rec record
	rec.Version, rec.RequestPayload = "1.0", payload
	rec.RequestContext.RequestID = id
	rec.RequestContext.FunctionArn = fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s:$LATEST", region, account, name)
	rec.ResponseContext.ExecutedVersion = "$LATEST"
	deadline, backoff, errors := time.Now().Add(maxAge), d.backoff, 0
	for {
		status, fnErr, body, err := d.invoke(uri, header, payload)
		switch {
		case err != nil || status >= 500 || status == http.StatusTooManyRequests:
			// Not run (throttled, no runtime yet): retried until the event's age is spent.
			if time.Now().After(deadline) {
				rec.RequestContext.Condition = "EventAgeExceeded"
				d.send(name, rec, cfg.DestinationConfig.OnFailure)
				return
			}
		case status >= 400:
			log.Printf("destinations: %s: event invoke refused (%d): %s", name, status, body)
			return
		default:
			rec.RequestContext.ApproximateInvokeCount++
			rec.ResponseContext.StatusCode, rec.ResponsePayload = status, json.RawMessage(body)
			if len(body) == 0 || !json.Valid(body) {
				rec.ResponsePayload, _ = json.Marshal(string(body))
			}
			if fnErr == "" {
				rec.RequestContext.Condition = "Success"
				d.send(name, rec, cfg.DestinationConfig.OnSuccess)
				return
			}
			if errors++; errors > retries {
				rec.RequestContext.Condition, rec.ResponseContext.FunctionError = "RetriesExhausted", fnErr
				d.send(name, rec, cfg.DestinationConfig.OnFailure)
				return
			}
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 30*time.Second)
	}
}

// invoke is one synchronous invoke through kumo, with the Event invoke's
// headers (kumo routes by the credential scope of its Authorization).
func (d *destinations) invoke(uri string, header http.Header, payload []byte) (status int, fnErr string, body []byte, err error) {
	req, err := http.NewRequest(http.MethodPost, d.kumoURL+uri, bytes.NewReader(payload))
	if err != nil {
		return 0, "", nil, err
	}
	req.Header = header.Clone()
	req.Header.Del("Content-Length")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	req.Header.Set("Content-Type", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), body, err
}

// send delivers rec to an SQS destination.
func (d *destinations) send(name string, rec record, to *destination) {
	if to == nil || to.Destination == "" {
		return
	}
	if !strings.HasPrefix(to.Destination, "arn:aws:sqs:") {
		log.Printf("destinations: %s: destination %s not delivered (only SQS destinations are emulated)", name, to.Destination)
		return
	}
	rec.Timestamp = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	body, _ := json.Marshal(rec)
	queue := to.Destination[strings.LastIndex(to.Destination, ":")+1:]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := d.sqs.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(queue)})
	if err == nil {
		_, err = d.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u.QueueUrl, MessageBody: aws.String(string(body))})
	}
	if err != nil {
		log.Printf("destinations: %s: record not sent to %s: %v", name, to.Destination, err)
	}
}

// wait waits for the events in flight (tests).
func (d *destinations) wait() { d.wg.Wait() }

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-Errortype", code)
	writeJSON(w, status, map[string]string{"Type": "User", "message": msg})
}
