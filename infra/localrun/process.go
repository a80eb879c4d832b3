package localrun

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildFunction compiles a Go function as SAM does for provided.al2023
// (BuildMethod go1.x), for the host's architecture so it runs here.
func buildFunction(ctx context.Context, dir, codeURI, outDir string, log io.Writer) (string, error) {
	pkg := "./" + strings.TrimPrefix(filepath.ToSlash(filepath.Clean(codeURI)), "./")
	if filepath.IsAbs(codeURI) {
		pkg = codeURI
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(outDir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (in %s): %w\n%s", pkg, dir, err, b)
	}
	fmt.Fprintf(log, "[localrun] built %s -> %s\n", pkg, out)
	return out, nil
}

// ProcessStatus describes a supervised bootstrap process.
type ProcessStatus struct {
	Function string    `json:"function"`
	PID      int       `json:"pid"`
	Running  bool      `json:"running"`
	Restarts int       `json:"restarts"`
	LastExit string    `json:"lastExit,omitempty"`
	Started  time.Time `json:"started"`
}

// supervisor runs a bootstrap binary and restarts it (with backoff) when it
// exits, until its context is cancelled.
type supervisor struct {
	name, bin, dir string
	env            []string
	out            *prefixWriter

	mu sync.Mutex
	st ProcessStatus

	done chan struct{}
}

func startSupervisor(ctx context.Context, name, bin string, env []string, out *prefixWriter) *supervisor {
	s := &supervisor{name: name, bin: bin, dir: filepath.Dir(bin), env: env, out: out, done: make(chan struct{})}
	s.st.Function = name
	go s.loop(ctx)
	return s
}

func (s *supervisor) status() ProcessStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *supervisor) loop(ctx context.Context) {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		cmd := exec.CommandContext(ctx, s.bin)
		cmd.Dir, cmd.Env = s.dir, s.env
		cmd.Stdout, cmd.Stderr = s.out, s.out
		cmd.SysProcAttr = sysProcAttr()
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 3 * time.Second
		start := time.Now()
		err := cmd.Start()
		s.mu.Lock()
		if !first {
			s.st.Restarts++
		}
		if err == nil {
			s.st.PID, s.st.Running, s.st.Started = cmd.Process.Pid, true, start
		}
		s.mu.Unlock()
		if err == nil {
			err = cmd.Wait()
		}
		s.out.flush()
		if ctx.Err() != nil {
			break
		}
		exit := "exited"
		if err != nil {
			exit = err.Error()
		}
		s.mu.Lock()
		s.st.Running, s.st.LastExit = false, exit
		s.mu.Unlock()
		if time.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		fmt.Fprintf(s.out.w, "[%s] bootstrap %s; restarting in %s\n", s.name, exit, backoff)
		if sleepCtx(ctx, backoff) != nil {
			break
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	s.mu.Lock()
	s.st.Running = false
	s.mu.Unlock()
}

// prefixWriter writes each line to w as "[prefix] line", one Write per line.
type prefixWriter struct {
	w      io.Writer
	mu     sync.Mutex
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := strings.IndexByte(string(p.buf), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(p.w, "[%s] %s\n", p.prefix, p.buf[:i])
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}

func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) > 0 {
		fmt.Fprintf(p.w, "[%s] %s\n", p.prefix, p.buf)
		p.buf = nil
	}
}
