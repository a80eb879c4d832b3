package cli

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/workflows"
)

func TestUIRefusesABadAPI(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	for _, api := range []string{"ftp://example.com", "127.0.0.1:8080", "https://"} {
		err := ordo(t, db, "ui", "--api", api)
		if err == nil || !strings.Contains(err.Error(), "--api") {
			t.Errorf("--api %s: %v, want an error naming --api", api, err)
		}
	}
}

func TestUIServesTheJournalWithMetrics(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	root := Command(App{Register: workflows.Register, Definitions: workflows.Definitions})
	root.SetArgs([]string{"--db", db, "ui", "--addr", addr})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ordo ui: %v", err)
		}
	}()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if code, _ := get("/"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ordo ui never answered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for path, want := range map[string]string{
		"/":                     "<script src=\"app.js\"",
		"/v1/views/runs":        `"countsExact": true`,
		"/v1/views/definitions": `"name": "order"`,
		"/metrics":              "ordo_ui_api_requests_total",
	} {
		if code, body := get(path); code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, body lacks %q", path, code, want)
		}
	}
}
