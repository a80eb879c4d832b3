package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ordoflow/ordo/journal"
	"github.com/ordoflow/ordo/orchestrator/sensitive"
	"github.com/ordoflow/ordo/workflows"
	"github.com/ordoflow/ordo/workflows/order"
)

// testCard is a Luhn-valid card number no sample uses: wherever it shows
// up in clear, something leaked.
const testCard = "4111111111111111"

// orderWithCard is SampleOrder(i) paying with card.
func orderWithCard(t *testing.T, i int, card string) string {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal(workflows.SampleOrder(i), &o); err != nil {
		t.Fatal(err)
	}
	o["payment"].(map[string]any)["cardNumber"] = card
	b, _ := json.Marshal(o)
	return string(b)
}

// captured runs f with the process's stdout and stderr going to files and
// returns what it wrote (the CLI prints to os.Stdout and logs to
// os.Stderr).
func captured(t *testing.T, f func()) string {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = out, out
	defer func() { os.Stdout, os.Stderr = stdout, stderr }()
	f()
	b, _ := os.ReadFile(out.Name())
	return string(b)
}

// TestSensitiveCardNeverInClear runs OMS orders paying with a known card
// and searches everything the journal and the tools around it hold or
// show for it: the SQLite file and its WAL, CLI output, logs (verbose),
// the API and UI responses, gen-test's recordings.
func TestSensitiveCardNeverInClear(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ordo.db")
	clears := []string{testCard, order.CardDeclined}
	var shown bytes.Buffer
	shown.WriteString(captured(t, func() {
		for i, card := range []string{testCard, testCard, order.CardDeclined} {
			if err := ordo(t, db, "-v", "start", "order", "--input", orderWithCard(t, 100+i, card)); err != nil {
				t.Error(err)
			}
		}
		for _, args := range [][]string{{"show", "order/ord-000100"}, {"show", "-o", "json", "order/ord-000100"},
			{"show", "order/ord-000102"}, {"runs"}, {"review", "list"}, {"-v", "verify", "--workflow", "order"}} {
			out, err := ordoOut(t, db, args...)
			if err != nil && args[1] != "verify" {
				t.Errorf("ordo %v: %v", args, err)
			}
			shown.WriteString(out)
		}
	}))
	if !strings.Contains(shown.String(), sensitive.Redacted) {
		t.Errorf("the CLI never shows [redacted]:\n%s", shown.String())
	}

	// The charge step got the card in clear: the verify step's Luhn check
	// passed and the charge reports the card's last four digits.
	head, events := headEvents(t, db, "order/ord-000100")
	if head.Status != journal.StatusCompleted {
		t.Fatalf("order/ord-000100 is %s", head.Status)
	}
	charged := false
	for _, e := range events {
		if e.Kind == journal.StepSucceeded && e.Step == "charge" && strings.Contains(string(e.Output), `"cardLast4":"1111"`) {
			charged = true
		}
	}
	if !charged {
		t.Error("the charge step did not report the card's last four digits: it did not get the card in clear")
	}
	if h, _ := headEvents(t, db, "order/ord-000102"); h.Status != journal.StatusReview {
		t.Errorf("the declined card's order is %s, want review", h.Status)
	}

	// The UI and the API it serves, on the same journal.
	shown.WriteString(uiResponses(t, db, "/v1/runs/order/ord-000100", "/v1/views/run?id=order/ord-000100",
		"/v1/views/review", "/v1/recordings/order/ord-000100", "/v1/views/runs", "/v1/runs/order/ord-000102"))

	// gen-test's recordings.
	out := filepath.Join(dir, "regress")
	if msg, err := ordoOut(t, db, "gen-test", "--workflow", "order", "--out", out, "--setup", "example.com/x.Setup"); err != nil {
		t.Fatalf("gen-test: %v\n%s", err, msg)
	}
	files, _ := filepath.Glob(filepath.Join(out, "testdata", "*"))
	files = append(files, db, db+"-wal", db+".sealing-key")
	raw := map[string][]byte{"CLI output and logs, API and UI responses": shown.Bytes()}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil && f != db+"-wal" {
			t.Fatal(err)
		}
		raw[f] = b
	}
	if len(raw[db]) == 0 {
		t.Fatal("empty journal")
	}
	for where, b := range raw {
		for _, c := range clears {
			if n := bytes.Count(b, []byte(c)); n > 0 {
				t.Errorf("%s: the clear card %s appears %d times", where, c, n)
			}
		}
	}
}

func headEvents(t *testing.T, db, run string) (journal.Run, []journal.Event) {
	t.Helper()
	return head(t, db, run)
}

// uiResponses serves the journal with `ordo ui` and returns the bodies of
// paths (each must answer 200).
func uiResponses(t *testing.T, db string, paths ...string) string {
	t.Helper()
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
		<-done
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
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := get("/"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ordo ui never answered")
		}
	}
	var all strings.Builder
	for _, p := range paths {
		code, body := get(p)
		if code != 200 {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
		all.WriteString(body)
	}
	return all.String()
}

// TestDevLoginLink starts `ordo dev`, follows the login link it prints as
// a browser would, and uses the web UI and its API with the session
// cookie alone.
func TestDevLoginLink(t *testing.T) {
	db := filepath.Join(t.TempDir(), "ordo.db")
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = out
	addr := startDev(t, db)
	os.Stdout = stdout
	printed, _ := os.ReadFile(out.Name())
	var link string
	for _, f := range strings.Fields(string(printed)) {
		if strings.Contains(f, "?login=") {
			link = f
		}
	}
	if !strings.HasPrefix(link, "http://"+addr+"/?login=") {
		t.Fatalf("ordo dev printed no login link for %s:\n%s", addr, printed)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	get := func(c *http.Client, u string) (int, string) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(http.DefaultClient, "http://"+addr+"/v1/views/runs"); code != 401 {
		t.Fatalf("the UI's API without a session: %d, want 401", code)
	}
	if code, body := get(browser, link); code != 200 || !strings.Contains(body, "<script") {
		t.Fatalf("following the login link: %d, want the UI page", code)
	}
	if code, body := get(browser, "http://"+addr+"/v1/whoami"); code != 200 || !strings.Contains(body, `"operator"`) {
		t.Fatalf("whoami in the browser: %d %s, want the operator role", code, body)
	}
	if code, _ := get(browser, "http://"+addr+"/v1/views/runs"); code != 200 {
		t.Fatalf("the UI's API with the session: %d, want 200", code)
	}
	if code, _ := get(&http.Client{}, link); code != 403 {
		t.Fatalf("the link used again: %d, want 403", code)
	}
}
