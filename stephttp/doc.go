// Package stephttp carries the step protocol (docs/steps.md) over HTTP, so
// steps written in any language can run under `ordo dev` and in tests:
// the orchestrator POSTs a step.Request as JSON to the step's URL, and the
// step answers 200 with a step.Response as JSON.
//
// Client is the calling side: a step.Handler that forwards each attempt to
// a URL, registered in the step registry under the function's name (see
// Register, LoadFile and ParseEnv for the mapping from function names to
// URLs). Handler is the serving side for Go steps.
//
// How a Client classifies what the step server does:
//
//	the server                             the attempt
//	-------------------------------------  ------------------------------------------------------
//	200 + a step.Response                  succeeds, or fails as the response's error says
//	200 + anything else                    fails terminally, kind "protocol" (ErrProtocol)
//	408, 429, 5xx, or no answer            fails retryably, kind "http" (the step may be busy)
//	other 4xx (or 3xx)                     fails terminally, kind "http": the request is wrong
package stephttp
