package observe

import (
	"context"
	"log/slog"
	"strings"
)

// LogHandler wraps h so that every record naming a run (a "run" attribute,
// as the engine logs them) also names its workflow, so logs filter by
// workflow, run, step and attempt alike.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	var run string
	hasWorkflow := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "run":
			run = a.Value.String()
		case "workflow":
			hasWorkflow = true
		}
		return true
	})
	if wf, _, ok := strings.Cut(run, "/"); ok && !hasWorkflow {
		r = r.Clone()
		r.AddAttrs(slog.String("workflow", wf))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
