package cli

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"text/template"

	"github.com/spf13/cobra"
)

//go:embed all:scaffold
var scaffold embed.FS

// project is what the scaffold's templates are filled with.
type project struct {
	Name, Module, GoVersion, OrdoVersion, Replace string
}

var workflowName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,39}$`)

func initCmd() *cobra.Command {
	var p project
	cmd := &cobra.Command{
		Use:   "init DIR",
		Short: "Scaffold a team project: its own module, two Go steps, a YAML workflow, a SAM template for its steps, a Makefile, a test",
		Long: `init writes a new project into DIR (which must not exist or be empty): a Go
module requiring ordo, a workflow definition (steps/workflow.yaml) with two Go
step functions and a test that runs it, a main embedding the ordo CLI with
those steps (cmd/NAME: dev, start, show, ...), one Lambda main per step, a
template.yaml deploying the steps as a stack of their own beside the platform,
and a Makefile with dev and test. NAME is DIR's base name unless --name says.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := scaffoldProject(args[0], p)
			if err != nil {
				return err
			}
			fmt.Printf("ordo init: wrote %d files into %s; next: cd %s && go mod tidy && make test && make dev\n", len(files), args[0], args[0])
			if _, v := goVersions(); v == "v0.0.0" && p.Replace == "" {
				fmt.Println("ordo init: this ordo is not a released version, so go.mod requires v0.0.0: pass --ordo <checkout> (a replace directive) or set the version in go.mod")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&p.Name, "name", "", "workflow name (default: DIR's base name); its step functions are NAME-receive and NAME-approve")
	cmd.Flags().StringVar(&p.Module, "module", "", "Go module path (default example.com/NAME)")
	cmd.Flags().StringVar(&p.Replace, "ordo", "", "use the ordo checkout at this path (a replace directive), e.g. to try an unreleased ordo")
	return cmd
}

// scaffoldProject writes the project into dir and returns the files written.
func scaffoldProject(dir string, p project) ([]string, error) {
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	if p.Name == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, err
		}
		p.Name = strings.ToLower(filepath.Base(abs))
	}
	if !workflowName.MatchString(p.Name) {
		return nil, fmt.Errorf("workflow name %q: want lower-case letters, digits and dashes, starting with a letter (at most 40; set --name)", p.Name)
	}
	if p.Module == "" {
		p.Module = "example.com/" + p.Name
	}
	if p.Replace != "" {
		abs, err := filepath.Abs(p.Replace)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
			return nil, fmt.Errorf("--ordo %s: not an ordo checkout (no go.mod)", p.Replace)
		}
		p.Replace = abs
	}
	p.GoVersion, p.OrdoVersion = goVersions()
	var written []string
	err := fs.WalkDir(scaffold, "scaffold", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(path, "scaffold/"), ".tmpl")
		rel = strings.ReplaceAll(rel, "__name__", p.Name)
		if rel == "gitignore" {
			rel = ".gitignore"
		}
		src, err := scaffold.ReadFile(path)
		if err != nil {
			return err
		}
		t, err := template.New(rel).Parse(string(src))
		if err != nil {
			return fmt.Errorf("scaffold %s: %w", path, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, p); err != nil {
			return fmt.Errorf("scaffold %s: %w", path, err)
		}
		out := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			return err
		}
		written = append(written, rel)
		return nil
	})
	return written, err
}

// emptyDir accepts a directory that does not exist (and creates it) or is
// empty; anything else is refused, saying why.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("init %s: %w", dir, err)
	case len(entries) > 0:
		return fmt.Errorf("init %s: the directory is not empty (it holds %s%s); ordo init only writes into a new or empty directory, so nothing of yours is overwritten",
			dir, entries[0].Name(), more(len(entries)-1))
	}
	return nil
}

func more(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}

// goVersions returns the go directive for the project (this toolchain's
// language version) and the ordo version to require: the one this binary
// was built from when it is a released module, else v0.0.0 (with --ordo
// the replace directive decides).
func goVersions() (goVer, ordoVer string) {
	goVer, ordoVer = "1.26", "v0.0.0"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return goVer, ordoVer
	}
	if v := strings.TrimPrefix(bi.GoVersion, "go"); v != "" {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) >= 2 {
			goVer = parts[0] + "." + parts[1]
		}
	}
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path == "github.com/ordoflow/ordo" && strings.HasPrefix(m.Version, "v") && !strings.Contains(m.Version, "devel") {
			ordoVer = m.Version
		}
	}
	return goVer, ordoVer
}
