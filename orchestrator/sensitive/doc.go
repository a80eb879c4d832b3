// Package sensitive keeps the values a workflow declares sensitive (a card
// number, a token) out of the journal and out of everything that shows
// the journal.
//
// A definition lists paths into its input, its state and its steps'
// outputs (workflow.Definition.Sensitive; ParsePath reads them). Before
// anything is journaled, the engine replaces the value at each path with
// an envelope, a one-key JSON object
//
//	{"$ordo.enc": "v1:<key id>:<base64url(nonce || AES-256-GCM ciphertext)>[:<base64url(wrapped data key)>]"}
//
// made by a Sealer: the port the engine owns, implemented at the edge
// (package localkey with a key file beside the journal; a KMS data key in
// the AWS functions). Decide never sees a clear value: it copies envelopes
// like any other JSON. The engine opens envelopes right before it builds a
// step's request, so steps get clear values, and the effects executor
// opens them for the handlers that perform effects.
//
// Everything else shows envelopes as "[redacted]" (Redact, RedactText):
// the API, the web UI, the CLI and logs.
//
// # Errors
//
//	situation                                      error
//	---------------------------------------------  ----------------
//	an envelope sealed under a key the sealer      ErrKey
//	lacks, or whose ciphertext does not
//	authenticate (wrong key, tampered)
//	a value that looks like an envelope but is     ErrMalformed
//	not one this package can read
//	a sensitive path that does not parse           ErrBadPath
package sensitive
