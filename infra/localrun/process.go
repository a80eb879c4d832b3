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

// goPackage turns a CodeUri into a package path relative to the template.
func goPackage(codeURI string) string {
	if filepath.IsAbs(codeURI) {
		return codeURI
	}
	return "./" + strings.TrimPrefix(filepath.ToSlash(filepath.Clean(codeURI)), "./")
}

// buildFunctions compiles Go functions as SAM does for provided.al2023
// (BuildMethod go1.x), for the host's architecture so they run here. It
// returns the binary of each CodeUri. Packages are built by one go command
// (so they link in parallel), except ones whose directory names collide.
func buildFunctions(ctx context.Context, dir string, codeURIs []string, outDir string, log io.Writer) (map[string]string, error) {
	byBase := map[string][]string{}
	seen := map[string]bool{}
	for _, c := range codeURIs {
		pkg := goPackage(c)
		if !seen[pkg] {
			seen[pkg] = true
			base := filepath.Base(pkg)
			byBase[base] = append(byBase[base], pkg)
		}
	}
	bins := map[string]string{} // package -> binary
	var together []string
	for base, pkgs := range byBase {
		if len(pkgs) == 1 {
			together = append(together, pkgs[0])
			bins[pkgs[0]] = filepath.Join(outDir, "all", base)
			continue
		}
		for i, pkg := range pkgs {
			out := filepath.Join(outDir, fmt.Sprintf("%s-%d", base, i), "bootstrap")
			if err := goBuild(ctx, dir, out, pkg); err != nil {
				return nil, err
			}
			bins[pkg] = out
		}
	}
	if len(together) > 0 {
		if err := goBuild(ctx, dir, filepath.Join(outDir, "all")+string(filepath.Separator), together...); err != nil {
			return nil, err
		}
	}
	res := map[string]string{}
	for _, c := range codeURIs {
		res[c] = bins[goPackage(c)]
	}
	fmt.Fprintf(log, "[localrun] built %d function packages into %s\n", len(seen), outDir)
	return res, nil
}

func goBuild(ctx context.Context, dir, out string, pkgs ...string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-o", out}, pkgs...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, b)
	}
	return nil
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

	started chan struct{} // closed after the first start attempt
	done    chan struct{}
}

func startSupervisor(ctx context.Context, name, bin string, env []string, out *prefixWriter) *supervisor {
	s := &supervisor{name: name, bin: bin, dir: filepath.Dir(bin), env: env, out: out,
		started: make(chan struct{}), done: make(chan struct{})}
	s.st.Function = name
	go s.loop(ctx)
	<-s.started
	return s
}

func (s *supervisor) status() ProcessStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *supervisor) loop(ctx context.Context) {
	defer close(s.done)
	defer func() {
		select {
		case <-s.started:
		default:
			close(s.started) // cancelled before the first start
		}
	}()
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
		if first {
			close(s.started)
		}
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
