package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestAPIClientSigns checks that requests to an https API are SigV4-signed
// for service lambda in the Function URL's region, with the body's hash,
// and that the server-side recomputation of the signature matches.
func TestAPIClientSigns(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	var got *http.Request
	var body []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		body, _ = io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]any{"run": "w/1", "created": true, "status": "running"})
	}))
	defer srv.Close()
	c, err := newAPIClient(context.Background(), srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	c.http = srv.Client()
	c.region = functionURLRegion("abc123.lambda-url.eu-west-1.on.aws")
	var out map[string]any
	if err := c.postJSON(context.Background(), "/v1/runs", map[string]string{"workflow": "w"}, &out); err != nil {
		t.Fatal(err)
	}
	auth := got.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/lambda/aws4_request") {
		t.Fatalf("Authorization %q: want SigV4 for lambda in eu-west-1", auth)
	}
	// Recompute the signature over what the server received.
	check, _ := http.NewRequest(got.Method, srv.URL+got.URL.Path, strings.NewReader(string(body)))
	for _, h := range []string{"Content-Type", "X-Amz-Content-Sha256"} {
		check.Header.Set(h, got.Header.Get(h))
	}
	at, err := time.Parse("20060102T150405Z", got.Header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
		check, got.Header.Get("X-Amz-Content-Sha256"), "lambda", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	if check.Header.Get("Authorization") != auth {
		t.Fatalf("signature does not verify:\n got  %s\n want %s", auth, check.Header.Get("Authorization"))
	}
	if _, err := newAPIClient(context.Background(), "ftp://x", ""); err == nil {
		t.Fatal("ftp --addr accepted")
	}
}
