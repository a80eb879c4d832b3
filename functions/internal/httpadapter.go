package internal

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// FunctionURLFunc is the typed Lambda handler of a Function URL.
type FunctionURLFunc func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error)

// FunctionURLHandler serves h behind a Lambda Function URL (buffered
// invoke mode): each event becomes an *http.Request carrying ctx, and what h
// writes becomes the response. Cookies travel in the events' cookie lists;
// a body that is not text is base64-encoded. An error is returned only for
// an event that cannot be turned into a request.
func FunctionURLHandler(h http.Handler) FunctionURLFunc {
	return func(ctx context.Context, ev events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		r, err := functionURLRequest(context.WithValue(ctx, urlContextKey{}, ev.RequestContext), ev)
		if err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: http.StatusBadRequest,
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: err.Error()}, nil
		}
		w := &bufferedResponse{header: http.Header{}}
		h.ServeHTTP(w, r)
		return w.response(), nil
	}
}

// functionURLRequest converts a Function URL event to a request.
func functionURLRequest(ctx context.Context, ev events.LambdaFunctionURLRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		method = http.MethodGet
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if path == "" {
		path = "/"
	}
	target := path
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, fmt.Errorf("request target %q: %w", target, err)
	}
	var body []byte
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("base64 body: %w", err)
		}
	} else {
		body = []byte(ev.Body)
	}
	r, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.URL, r.RequestURI = u, target
	for k, v := range ev.Headers {
		r.Header.Set(k, v) // Function URLs join repeated headers with commas
	}
	if len(ev.Cookies) > 0 {
		r.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	r.Host = ev.RequestContext.DomainName
	if h := r.Header.Get("Host"); h != "" {
		r.Host = h
	}
	if r.Header.Get("User-Agent") == "" && ev.RequestContext.HTTP.UserAgent != "" {
		r.Header.Set("User-Agent", ev.RequestContext.HTTP.UserAgent)
	}
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
		r.URL.Scheme = proto
	}
	r.ContentLength = int64(len(body))
	return r, nil
}

// bufferedResponse is an http.ResponseWriter that keeps the response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *bufferedResponse) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.body.Write(b)
}

func (w *bufferedResponse) response() events.LambdaFunctionURLResponse {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	body := w.body.Bytes()
	if w.header.Get("Content-Type") == "" && len(body) > 0 {
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	out := events.LambdaFunctionURLResponse{StatusCode: w.status, Headers: map[string]string{}}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		out.Headers[k] = strings.Join(vs, ",")
	}
	if isText(w.header.Get("Content-Type"), body) {
		out.Body = string(body)
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return out
}

// isText reports whether a body of this content type travels as a string.
func isText(contentType string, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "image/svg+xml":
		return utf8.Valid(body)
	}
	return false
}
