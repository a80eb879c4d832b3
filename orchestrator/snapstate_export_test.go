package orchestrator

// EncodeState and DecodeState expose the snapshot format to the external
// tests.
var (
	EncodeState = encodeState
	DecodeState = decodeState
)
