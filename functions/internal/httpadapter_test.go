package internal_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/ordoflow/ordo/functions/internal"
)

type seen struct {
	Method, Path, RawPath, Query, Host, Remote, Cookie, Agent, Body string
	Len                                                             int64
	CtxValue                                                        any
}

type ctxKey struct{}

func echo(t *testing.T, got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		*got = seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), Query: r.URL.Query().Get("q"),
			Host: r.Host, Remote: r.RemoteAddr, Cookie: r.Header.Get("Cookie"), Agent: r.UserAgent(), Body: string(b),
			Len: r.ContentLength, CtxValue: r.Context().Value(ctxKey{})}
		switch r.URL.Path {
		case "/png":
			w.Header().Set("Content-Type", "image/png")
			w.Write([]byte{0x89, 'P', 'N', 'G', 0, 1, 2})
		case "/cookies":
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("X-Multi", "1")
			w.Header().Add("X-Multi", "2")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"ok":true}`)
		}
	})
}

func TestFunctionURLHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ev       events.LambdaFunctionURLRequest
		wantSeen seen
		want     events.LambdaFunctionURLResponse
	}{{
		name: "json post",
		ev: events.LambdaFunctionURLRequest{RawPath: "/v1/runs/order/ord%2F1", RawQueryString: "q=a+b&x=1",
			Headers: map[string]string{"content-type": "application/json", "user-agent": "curl/8", "host": "abc.lambda-url.us-east-1.on.aws"},
			Cookies: []string{"s=1", "t=2"}, Body: `{"workflow":"order"}`,
			RequestContext: events.LambdaFunctionURLRequestContext{DomainName: "abc.lambda-url.us-east-1.on.aws",
				HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "POST", SourceIP: "203.0.113.9"}}},
		wantSeen: seen{Method: "POST", Path: "/v1/runs/order/ord/1", RawPath: "/v1/runs/order/ord%2F1", Query: "a b",
			Host: "abc.lambda-url.us-east-1.on.aws", Remote: "203.0.113.9", Cookie: "s=1; t=2", Agent: "curl/8",
			Body: `{"workflow":"order"}`, Len: 20, CtxValue: "v"},
		want: events.LambdaFunctionURLResponse{StatusCode: 201, Body: `{"ok":true}`,
			Headers: map[string]string{"Content-Type": "application/json", "X-Multi": "1,2"}},
	}, {
		name: "base64 request, binary response",
		ev: events.LambdaFunctionURLRequest{RawPath: "/png", IsBase64Encoded: true, Body: base64.StdEncoding.EncodeToString([]byte("\x00\x01")),
			RequestContext: events.LambdaFunctionURLRequestContext{HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "PUT"}}},
		wantSeen: seen{Method: "PUT", Path: "/png", RawPath: "/png", Body: "\x00\x01", Len: 2, CtxValue: "v"},
		want: events.LambdaFunctionURLResponse{StatusCode: 200, IsBase64Encoded: true,
			Body:    base64.StdEncoding.EncodeToString([]byte{0x89, 'P', 'N', 'G', 0, 1, 2}),
			Headers: map[string]string{"Content-Type": "image/png"}},
	}, {
		name: "cookies out, no path",
		ev: events.LambdaFunctionURLRequest{RequestContext: events.LambdaFunctionURLRequestContext{
			HTTP: events.LambdaFunctionURLRequestContextHTTPDescription{Method: "GET", Path: "/cookies"}}},
		wantSeen: seen{Method: "GET", Path: "/cookies", RawPath: "/cookies", CtxValue: "v"},
		want:     events.LambdaFunctionURLResponse{StatusCode: 204, Headers: map[string]string{}, Cookies: []string{"a=1", "b=2"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got seen
			ctx := context.WithValue(context.Background(), ctxKey{}, "v")
			resp, err := internal.FunctionURLHandler(echo(t, &got))(ctx, tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(got, tt.wantSeen); d != "" {
				t.Errorf("request (-got +want):\n%s", d)
			}
			if d := cmp.Diff(resp, tt.want); d != "" {
				t.Errorf("response (-got +want):\n%s", d)
			}
		})
	}
}

func TestFunctionURLHandlerBadEvent(t *testing.T) {
	t.Parallel()
	h := internal.FunctionURLHandler(http.NotFoundHandler())
	resp, err := h(context.Background(), events.LambdaFunctionURLRequest{RawPath: "/x", IsBase64Encoded: true, Body: "%%%"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

// TestFunctionURLHandlerGolden feeds aws-lambda-go's own sample event
// (events/testdata/lambda-urls-request.json) through the runtime's JSON path.
func TestFunctionURLHandlerGolden(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "function-url-request.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got seen
	out, err := lambda.NewHandler(internal.FunctionURLHandler(echo(t, &got))).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var resp events.LambdaFunctionURLResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	want := seen{Method: "POST", Path: "/my/path", RawPath: "/my/path", Query: "", Host: "<url-id>.lambda-url.us-west-2.on.aws",
		Remote: "123.123.123.123", Cookie: "cookie1; cookie2", Agent: "agent", Body: "Hello from client!", Len: 18}
	if d := cmp.Diff(got, want); d != "" {
		t.Errorf("request (-got +want):\n%s", d)
	}
	if resp.StatusCode != 201 || resp.Body != `{"ok":true}` {
		t.Errorf("response %+v", resp)
	}
}
