package stephttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// ErrProtocol is wrapped by the failure of an attempt whose step answered
// 200 with a body that is not a step.Response.
var ErrProtocol = errors.New("stephttp: not a step response")

// maxBody bounds a step's response body (Lambda's own limit is 6 MB).
const maxBody = 6 << 20

// Client runs step attempts by POSTing them to a URL.
type Client struct {
	url  string
	http *http.Client
}

var _ step.Handler = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default http.DefaultClient; the
// step's timeout comes from the attempt's context).
func WithHTTPClient(c *http.Client) Option { return func(cl *Client) { cl.http = c } }

// NewClient returns a step handler that forwards attempts to url.
func NewClient(url string, opts ...Option) *Client {
	c := &Client{url: url, http: http.DefaultClient}
	for _, o := range opts {
		o(c)
	}
	return c
}

// URL returns the URL the client posts to.
func (c *Client) URL() string { return c.url }

// Handle posts req and returns the step's result or its failure, classified
// as the package documentation says.
func (c *Client) Handle(ctx context.Context, req step.Request) (step.Result, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return step.Result{}, step.Terminal(fmt.Errorf("step %s: encode request: %w", req.Function, err))
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return step.Result{}, step.Terminal(step.Kind("http", fmt.Errorf("step %s: %w", req.Function, err)))
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Ordo-Run", req.Run)
	hr.Header.Set("Ordo-Idempotency-Key", req.IdempotencyKey)
	resp, err := c.http.Do(hr)
	if err != nil {
		return step.Result{}, step.Kind("http", fmt.Errorf("step %s at %s: %w", req.Function, c.url, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return step.Result{}, step.Kind("http", fmt.Errorf("step %s at %s: read response: %w", req.Function, c.url, err))
	}
	if resp.StatusCode != http.StatusOK {
		err := step.Kind("http", fmt.Errorf("step %s at %s answered %s: %s", req.Function, c.url, resp.Status, snippet(data)))
		if !retryableStatus(resp.StatusCode) {
			err = step.Terminal(err)
		}
		return step.Result{}, err
	}
	if len(data) > maxBody {
		return step.Result{}, protocolError(req, c.url, "response larger than 6 MB")
	}
	out, perr := decodeResponse(data)
	if perr != "" {
		return step.Result{}, protocolError(req, c.url, perr)
	}
	if out.Error != nil {
		return step.Result{}, out.Error.Err()
	}
	return out.Result, nil
}

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

func protocolError(req step.Request, url, why string) error {
	return step.Terminal(step.Kind("protocol", fmt.Errorf("step %s at %s: %w: %s", req.Function, url, ErrProtocol, why)))
}

// decodeResponse parses a step.Response strictly: a JSON object with only
// the protocol's fields, and an error with a message. It returns why not.
func decodeResponse(data []byte) (step.Response, string) {
	var resp step.Response
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&resp); err != nil {
		return resp, fmt.Sprintf("%v (body %s)", err, snippet(data))
	}
	if dec.More() {
		return resp, fmt.Sprintf("trailing data after the response (body %s)", snippet(data))
	}
	if resp.Error != nil && resp.Error.Message == "" {
		return resp, "error without a message"
	}
	if len(resp.State) > 0 && !isObject(resp.State) {
		return resp, fmt.Sprintf("state %s is not a JSON object (a merge patch)", snippet(resp.State))
	}
	for i, e := range resp.Effects {
		if e.Kind == "" {
			return resp, fmt.Sprintf("effect %d has no kind", i)
		}
	}
	return resp, ""
}

func isObject(b []byte) bool {
	return strings.HasPrefix(strings.TrimSpace(string(b)), "{")
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return s
}
