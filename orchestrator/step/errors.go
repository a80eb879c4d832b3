package step

import (
	"context"
	"errors"
	"fmt"
)

// Error is a classified step error.
type Error struct {
	Kind     string
	terminal bool
	Err      error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Kind
	}
	return e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Terminal marks err as not retryable: the step fails at once and the run
// goes to manual review. Terminal(nil) is nil.
func Terminal(err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) {
		return &Error{Kind: se.Kind, terminal: true, Err: err}
	}
	return &Error{terminal: true, Err: err}
}

// Kind classifies err so a retry policy can name it as non-retryable.
func Kind(kind string, err error) error {
	if err == nil {
		err = errors.New(kind)
	}
	return &Error{Kind: kind, Err: err}
}

// Errorf is fmt.Errorf returning a Terminal error.
func Errorf(format string, args ...any) error { return Terminal(fmt.Errorf(format, args...)) }

// IsTerminal reports whether err was marked Terminal.
func IsTerminal(err error) bool {
	var se *Error
	for errors.As(err, &se) {
		if se.terminal {
			return true
		}
		err = se.Err
	}
	return false
}

// FailureOf converts err to its wire form.
func FailureOf(err error) *Failure {
	if err == nil {
		return nil
	}
	f := &Failure{Message: err.Error(), Terminal: IsTerminal(err)}
	var se *Error
	if errors.As(err, &se) {
		f.Kind = se.Kind
	}
	return f
}

// Err converts a wire failure back to an error that keeps its class.
func (f *Failure) Err() error {
	if f == nil {
		return nil
	}
	err := error(&Error{Kind: f.Kind, Err: errors.New(f.Message)})
	if f.Terminal {
		err = Terminal(err)
	}
	return err
}

// Invoke runs h and converts the outcome to its wire form. A panic in the
// handler becomes a retryable failure rather than a crashed process.
func Invoke(ctx context.Context, h Handler, req Request) (resp Response) {
	defer func() {
		if r := recover(); r != nil {
			resp = Response{Error: &Failure{Message: fmt.Sprintf("step %s panicked: %v", req.Step, r), Kind: KindPanic}}
		}
	}()
	res, err := h.Handle(ctx, req)
	if err != nil {
		return Response{Error: FailureOf(err)}
	}
	return Response{Result: res}
}
