package workflow

import (
	"fmt"
	"unicode/utf8"
)

// Limits on what a definition may ask of the platform. A definition over
// any of them is refused when it is loaded or built, with a Problem naming
// the limit.
const (
	// MaxDefinitionBytes bounds a YAML or JSON definition.
	MaxDefinitionBytes = 256 << 10
	// MaxSteps bounds a definition's steps.
	MaxSteps = 500
	// MaxExpressionBytes bounds one CEL expression's source.
	MaxExpressionBytes = 4 << 10
	// MaxExpressionCost bounds one evaluation of a CEL expression, in
	// cel-go's cost units (about one per operation, per list element a
	// macro visits): an evaluation that would cost more stops with an
	// error instead of burning the Lambda's time and memory.
	MaxExpressionCost = 1_000_000
	// maxQuote bounds how much of an expression an error message quotes.
	maxQuote = 60
)

// excerpt quotes at most maxQuote bytes of src (on a rune boundary).
func excerpt(src string) string {
	if len(src) <= maxQuote {
		return fmt.Sprintf("%q", src)
	}
	cut := maxQuote
	for cut > 0 && !utf8.RuneStart(src[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", src[:cut], len(src))
}

// shortenMsg bounds an error message from CEL, which quotes the source line.
func shortenMsg(msg string) string {
	const max = 400
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}
