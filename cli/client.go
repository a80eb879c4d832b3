package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/ordoflow/ordo/api"
)

// apiClient talks to the HTTP API of a running `ordo dev` (host:port or
// http://...) or of a deployed platform (its Function URL, https://...;
// requests are SigV4-signed for service lambda with the AWS SDK's default
// credentials, as the IAM-authenticated Function URL requires).
type apiClient struct {
	base   *url.URL
	creds  aws.CredentialsProvider
	region string
	http   *http.Client
	// db locates `ordo dev`'s bearer tokens (http addresses).
	db  string
	dev bool
}

// newAPIClient parses addr and, for https URLs, loads AWS credentials.
// For `ordo dev` (http) it sends the bearer token of the role the
// request needs (ORDO_TOKEN, else the token file beside db).
func newAPIClient(ctx context.Context, addr, db string) (*apiClient, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--addr %q: want host:port of `ordo dev` or the platform's https API URL", addr)
	}
	c := &apiClient{base: u, http: &http.Client{Timeout: 60 * time.Second}}
	c.db, c.dev = db, u.Scheme == "http"
	if u.Scheme == "https" {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("--addr %s: AWS credentials to sign requests: %w", addr, err)
		}
		c.creds, c.region = cfg.Credentials, cfg.Region
		if r := functionURLRegion(u.Host); r != "" {
			c.region = r
		}
		if c.region == "" {
			return nil, fmt.Errorf("--addr %s: no AWS region to sign requests for (set AWS_REGION)", addr)
		}
	}
	return c, nil
}

// functionURLRegion returns REGION of a Function URL host
// (ID.lambda-url.REGION.on.aws), or "".
func functionURLRegion(host string) string {
	parts := strings.Split(host, ".")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "lambda-url" {
			return parts[i+1]
		}
	}
	return ""
}

// do sends a request to path (with query) and decodes a 2xx answer into
// out (if not nil; a *string takes the body as text); other answers become errors carrying the API's message.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body []byte, contentType string, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.dev {
		// The least role the request needs: admin only to push definitions.
		role := api.Operator
		if method == http.MethodPost && strings.HasPrefix(path, "/v1/definitions") {
			role = api.Admin
		}
		token, err := bearer(c.db, role)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if c.creds != nil {
		if err := c.sign(ctx, req, body); err != nil {
			return err
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Error)
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, truncate(strings.TrimSpace(string(data)), 300))
	}
	if out == nil {
		return nil
	}
	if text, ok := out.(*string); ok {
		*text = string(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: answer is not the API's JSON: %w", method, path, err)
	}
	return nil
}

func (c *apiClient) sign(ctx context.Context, req *http.Request, body []byte) error {
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("AWS credentials to sign the request: %w", err)
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	return v4.NewSigner().SignHTTP(ctx, creds, req, hash, "lambda", c.region, time.Now())
}

// postJSON posts body as JSON.
func (c *apiClient) postJSON(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, path, nil, b, "application/json", out)
}
