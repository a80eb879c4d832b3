package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ordoflow/ordo/infra/localrun"
)

const defaultStateFile = ".local/ordo-local.json"

func localCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "local",
		Short: "Run template.yaml's functions against the local AWS stack (DynamoDB Local + kumo), without Docker",
		Long: `local up reads template.yaml, creates its table, queues and streams on the
endpoints of the AWS SDK's default configuration (AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_DYNAMODB; start the emulators with infra/start.sh and
source infra/env.sh), builds every function exactly as for AWS, runs each
bootstrap against the emulator's Lambda runtime API, and polls the event
sources as AWS does. Point AWS_ENDPOINT_URL at LocalStack to use it instead.`,
	}
	var state string
	cmd.PersistentFlags().StringVar(&state, "state", defaultStateFile, "state file shared by up, status and down")

	var opts localrun.Options
	var keep bool
	up := &cobra.Command{
		Use:   "up",
		Short: "Create the stack's resources, build and run its functions, poll its event sources (until interrupted)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if st, err := localrun.ReadState(state); err == nil && processAlive(st.RunnerPID) {
				return fmt.Errorf("a local stack is already up (pid %d, %s); run `ordo local down` first", st.RunnerPID, state)
			}
			if err := os.MkdirAll(dirOf(state), 0o755); err != nil {
				return err
			}
			opts.StateFile = state
			t0 := time.Now()
			stack, err := localrun.Up(ctx, opts)
			if err != nil {
				return err
			}
			printStatus(stack.Status())
			fmt.Printf("ordo local: up in %s; Ctrl-C or `ordo local down` stops it\n", time.Since(t0).Round(time.Millisecond))
			<-ctx.Done()
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if keep {
				return stack.Close()
			}
			return stack.Down(dctx)
		},
	}
	up.Flags().StringVar(&opts.Template, "template", "template.yaml", "SAM template")
	up.Flags().StringArrayVar(&opts.Templates, "with", nil,
		"another SAM template run beside it, e.g. a team's step functions (its PlatformStack parameter is --stack); repeatable")
	up.Flags().StringVar(&opts.StackName, "stack", "ordo", "stack name (prefixes resource names)")
	up.Flags().IntVar(&opts.Concurrency, "concurrency", 4, "concurrent invocations per function")
	up.Flags().BoolVar(&keep, "keep-resources", false, "leave tables, queues and streams in the emulators on exit")

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the running local stack's resources, processes and pollers",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localrun.ReadState(state)
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("no local stack is up (no %s)", state)
			}
			if err != nil {
				return err
			}
			if !processAlive(st.RunnerPID) {
				return fmt.Errorf("the local stack's runner (pid %d) is gone; %s is stale", st.RunnerPID, state)
			}
			printStatus(*st)
			return nil
		},
	}
	down := &cobra.Command{
		Use:   "down",
		Short: "Stop the running local stack and delete the resources it created",
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localrun.ReadState(state)
			if errors.Is(err, os.ErrNotExist) {
				fmt.Println("ordo local: nothing is up")
				return nil
			}
			if err != nil {
				return err
			}
			if !processAlive(st.RunnerPID) {
				os.Remove(state)
				fmt.Println("ordo local: runner already gone; removed stale state")
				return nil
			}
			if err := syscall.Kill(st.RunnerPID, syscall.SIGTERM); err != nil {
				return err
			}
			deadline := time.Now().Add(40 * time.Second)
			for processAlive(st.RunnerPID) {
				if time.Now().After(deadline) {
					return fmt.Errorf("runner pid %d did not stop", st.RunnerPID)
				}
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Println("ordo local: down")
			return nil
		},
	}
	cmd.AddCommand(up, status, down)
	return cmd
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' {
			return path[:i]
		}
	}
	return "."
}

func printStatus(st localrun.Status) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "stack %s (runner pid %d, template %s)\n", st.StackName, st.RunnerPID, st.Template)
	fmt.Fprintln(tw, "RESOURCE\tTYPE\tNAME")
	for _, r := range st.Resources {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.LogicalID, r.Type, r.Name)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tPID\tRUNNING\tRESTARTS\tLAST EXIT")
	for _, p := range st.Processes {
		fmt.Fprintf(tw, "%s\t%d\t%t\t%d\t%s\n", p.Function, p.PID, p.Running, p.Restarts, p.LastExit)
	}
	tw.Flush()
}
