package otlp_test

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/observe/otlp"
	"github.com/ordoflow/ordo/observe/otlp/otlptest"
)

// A process told where its collector is (here by a map standing in for
// the environment) exports its spans there.
func Example() {
	collector := otlptest.NewReceiver()
	defer collector.Close()
	env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL(), "OTEL_SERVICE_NAME": "shop"}
	ctx := context.Background()
	tp, err := otlp.New(ctx, func(k string) string { return env[k] })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tp.Shutdown(ctx)
	_, span := tp.Tracer("example").Start(ctx, "checkout")
	span.End()
	tp.ForceFlush(ctx) // what a Lambda does before its invocation returns
	for _, s := range collector.Spans() {
		fmt.Println(s.Service, s.Name)
	}
	// Told nothing, a process exports nothing.
	none, _ := otlp.New(ctx, func(string) string { return "" })
	fmt.Println(none == nil)
	// Output:
	// shop checkout
	// true
}
