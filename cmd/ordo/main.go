// Command ordo is the ordo CLI: run the OMS demo, a local dev server, start
// and inspect runs, draw workflows, manage definitions.
//
//	ordo demo --orders 300
//	ordo dev --addr 127.0.0.1:8080
//	ordo start order --input @order.json
//	ordo runs --status review
//	ordo show order/o-123
//	ordo graph order --format mermaid
//	ordo definitions push order.yaml
//
// The journal is a SQLite file chosen by --db or ORDO_DB (default
// ./ordo.db).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRoot().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ordo:", err)
		os.Exit(1)
	}
}
