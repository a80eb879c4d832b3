package observe

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
)

// LogHandler wraps h so that every record naming a run (a "run" attribute,
// as the engine and the Lambdas log them) also names its workflow, and
// every record naming an effect of the run (an "effect" attribute: its
// stable id, run/step/attempt/n) also names the step, attempt and map item
// that emitted it. Logs then filter by workflow, run, step and attempt
// alike.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	var run, effect string
	has := map[string]bool{}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "run":
			run = a.Value.String()
		case "effect":
			effect = a.Value.String()
		}
		has[a.Key] = true
		return true
	})
	var add []slog.Attr
	if wf, _, ok := strings.Cut(run, "/"); ok && !has["workflow"] {
		add = append(add, slog.String("workflow", wf))
	}
	if !has["step"] && run != "" {
		add = append(add, effectAttrs(run, effect)...)
	}
	if len(add) > 0 {
		r = r.Clone()
		r.AddAttrs(add...)
	}
	return l.Handler.Handle(ctx, r)
}

// effectAttrs are the step, attempt and item an effect id of run names
// (run/step[#item|~]/attempt/n), or none when it is not one.
func effectAttrs(run, id string) []slog.Attr {
	rest, ok := strings.CutPrefix(id, run+"/")
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 {
		return nil
	}
	attempt, err := strconv.Atoi(parts[1])
	if err != nil {
		return nil
	}
	step, item, isItem := strings.Cut(parts[0], "#")
	attrs := []slog.Attr{slog.String("step", strings.TrimSuffix(step, "~")), slog.Int("attempt", attempt)}
	if index, err := strconv.Atoi(item); isItem && err == nil {
		attrs = append(attrs, slog.Int("index", index))
	}
	if strings.HasSuffix(step, "~") {
		attrs = append(attrs, slog.Bool("compensation", true))
	}
	return attrs
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }
