package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/api"
	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/journal/sqlitejournal"
	"github.com/ordoflow/ordo/orchestrator"
	"github.com/ordoflow/ordo/orchestrator/callback"
	"github.com/ordoflow/ordo/workflows"
)

func TestCallbackKeyFileBesideJournal(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	if err := ordo(t, db, "start", "order", "--input", string(workflows.SampleOrder(0))); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(db + ".callback-key")
	if err != nil {
		t.Fatalf("no callback key beside the journal: %v", err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Fatalf("callback key mode %v, want 0600", got)
	}
	// Every later command signs and verifies with the same key.
	first, err := callback.LoadFile(db + ".callback-key")
	if err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "runs"); err != nil {
		t.Fatal(err)
	}
	again, _ := callback.LoadFile(db + ".callback-key")
	c := callback.Claims{Run: "r/1", Step: "s", Attempt: 1}
	if _, err := again.Verify(first.Sign(c)); err != nil {
		t.Fatalf("the key changed between commands: %v", err)
	}
}

// serve runs the long-running command args (dev, ui) on db until the test
// ends, and returns once addr answers.
func serve(t *testing.T, db, addr string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	root := Command(App{Register: workflows.Register, Definitions: workflows.Definitions})
	root.SetArgs(append([]string{"--db", db}, args...))
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ordo %v: %v", args, err)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get("http://" + addr + "/v1/runs")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("ordo %v exited: %v", args, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ordo %v did not answer on %s: %v", args, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startDev runs `ordo dev` on db and returns its address.
func startDev(t *testing.T, db string) string {
	t.Helper()
	addr := freeAddr(t)
	serve(t, db, addr, "dev", "--addr", addr)
	return addr
}

func TestDevServerAuthentication(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	order := workflows.SampleOrder(workflows.SampleDeclinedEvery - 1) // declined card: review
	if err := ordo(t, db, "start", "order", "--input", string(order)); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(order, &o)
	run := "order/" + o["orderId"].(string)
	addr := startDev(t, db)
	if fi, err := os.Stat(tokenFile(db)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v %v, want mode 0600", fi, err)
	}
	send := func(method, path, host, origin, ctype, token, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		for k, v := range map[string]string{"Origin": origin, "Content-Type": ctype} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cancelPath := "/v1/runs/" + run + "/cancel"
	// The attack as seen: a cross-site text/plain POST through a rebound DNS name.
	if got := send("POST", cancelPath, "evil.example:18080", "http://evil.example", "text/plain", "", `{}`); got != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", got)
	}
	if got := send("POST", cancelPath, "", "", "application/json", "", `{}`); got != http.StatusUnauthorized {
		t.Errorf("POST without a token: %d, want 401", got)
	}
	if got := send("GET", "/v1/runs", "", "", "", "", ""); got != http.StatusUnauthorized {
		t.Errorf("GET without a token: %d, want 401", got)
	}
	tokens, err := api.LoadTokenFile(tokenFile(db))
	if err != nil {
		t.Fatal(err)
	}
	if got := send("POST", cancelPath, "", "", "application/json", tokens[api.Viewer], `{}`); got != http.StatusForbidden {
		t.Errorf("cancel as viewer: %d, want 403", got)
	}
	if h, _ := head(t, db, run); h.Status != journal.StatusReview {
		t.Fatalf("refused requests changed the run: %s", h.Status)
	}
	// The CLI reads the operator token beside the journal.
	if err := ordo(t, db, "cancel", "--addr", addr, "--by", "dana", run); err != nil {
		t.Fatal(err)
	}
	_, events := head(t, db, run)
	last := events[len(events)-1]
	for _, e := range events {
		if e.Kind == journal.Cancelled {
			last = e
		}
	}
	if last.Kind != journal.Cancelled || last.By != "local-operator (for dana)" {
		t.Fatalf("cancel journaled as %s by %q, want Cancelled by local-operator (for dana)", last.Kind, last.By)
	}
}

// `ordo ui --api` in front of `ordo dev`: the browser holds no token, the
// UI forwards its calls with the operator's.
func TestUIProxiesToDevWithToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	order := workflows.SampleOrder(workflows.SampleDeclinedEvery - 1)
	if err := ordo(t, db, "start", "order", "--input", string(order)); err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	json.Unmarshal(order, &o)
	run := "order/" + o["orderId"].(string)
	dev := startDev(t, db)
	ui := freeAddr(t)
	serve(t, db, ui, "ui", "--api", "http://"+dev, "--addr", ui)
	resp, err := http.Get("http://" + ui + "/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]string
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me["role"] != "operator" || me["name"] != "local-operator" {
		t.Fatalf("whoami through the UI: %v, want local-operator", me)
	}
	req, _ := http.NewRequest("POST", "http://"+ui+"/v1/runs/"+run+"/cancel", strings.NewReader(`{"by":"dana"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("cancel through the UI: %d", resp.StatusCode)
	}
	if h, _ := head(t, db, run); h.Status != journal.StatusCancelled {
		t.Fatalf("status %s, want cancelled", h.Status)
	}
}

func TestPushIsAudited(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ordo.db")
	t.Setenv("USER", "pat")
	v3 := strings.Replace(string(orderYAML(t)), `version: "2"`, `version: "3"`, 1)
	file := filepath.Join(dir, "order-v3.yaml")
	if err := os.WriteFile(file, []byte(v3), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ordo(t, db, "definitions", "push", file); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitejournal.New(context.Background(), db, sqlitejournal.ReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events, err := s.ReadStream(context.Background(), orchestrator.AuditStream("order"))
	if err != nil || len(events) == 0 {
		t.Fatalf("audit trail of order: %d events, %v", len(events), err)
	}
	last := events[len(events)-1]
	if last.Kind != journal.DefinitionPushed || last.By != "cli:pat" || !strings.Contains(string(last.Input), `"3"`) {
		t.Fatalf("audit event %s by %q (%s), want DefinitionPushed of version 3 by cli:pat", last.Kind, last.By, last.Input)
	}
}
