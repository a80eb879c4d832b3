// Package step is the contract between the orchestrator and a step: the
// Request a step receives, the Result it returns, and the errors that decide
// whether a failure is retried.
//
// A step is an ordinary Go function wrapped by Func:
//
//	var Charge = step.Func(func(ctx context.Context, in ChargeInput) (ChargeOutput, error) {
//		if in.Card == "4000000000000002" {
//			return ChargeOutput{}, step.Terminal(errors.New("card declined"))
//		}
//		step.Emit(ctx, step.Effect{Kind: "email", Target: in.Email})
//		return ChargeOutput{ChargeID: "ch_" + in.OrderID}, nil
//	})
//
// The same Handler is called in-process by the embedded runtime and wrapped
// by a Lambda entrypoint in AWS (functions/<step>/main.go).
//
// # Errors
//
//	situation                               how                  retried
//	--------------------------------------  -------------------  -------
//	any error                               return err           yes, per the step's retry policy
//	a failure retrying cannot fix           step.Terminal(err)   no: the run goes to review
//	a classified failure (policy may skip)  step.Kind(kind, err) unless the policy lists kind as non-retryable
package step
