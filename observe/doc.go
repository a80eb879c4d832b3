// Package observe turns what ordo journals into metrics and traces,
// without touching the engine: a Store wraps the journal and reports every
// appended commit, so whatever drives runs (the embedded runtime, the
// orchestrator Lambda, an operator's resubmit) is observed the same way.
//
//   - Package prom counts runs started and ended (completed, failed,
//     cancelled, in review), step latencies, retries and effect outcomes,
//     and gauges the runs per status (served at /metrics by `ordo dev` and
//     `ordo ui`).
//   - EMF writes the same figures as CloudWatch Embedded Metric Format
//     lines, for the Lambdas' logs.
//   - Tracer makes one OpenTelemetry trace per run: a span per commit
//     (the orchestrator's decisions), per step attempt and per effect. The
//     trace id is derived from the run id, so every process that touches a
//     run (trigger, orchestrator, step, effect) joins the same trace
//     without carrying state, and a step receives the W3C traceparent of
//     its attempt's span in step.Request.Trace. RunSampler makes a
//     sampler keep or drop a run's spans together; package otlp exports
//     them to a collector as the OTEL_* variables say.
//   - Tally times each step attempt from its StepScheduled to its result,
//     both as journaled; WithJournal reads the schedule of an attempt this
//     process did not see scheduled from the journal.
//   - LogHandler adds the workflow (and, for an effect, its step and
//     attempt) to every slog record that names a run.
package observe
