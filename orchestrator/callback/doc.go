// Package callback signs and verifies the tokens async steps complete with.
//
// A token is a capability: whoever holds it may finish one attempt of one
// step of one run. It is
//
//	base64url(run \x00 step \x00 attempt) "." base64url(HMAC-SHA256(key, "ordo-callback-v1\x00" payload))
//
// signed with a deployment key (a key file beside the journal locally,
// Secrets Manager or SSM in AWS) and checked in constant time. A Keyring
// holds the current key, which signs, and older keys, which still verify,
// so a key can be rotated without voiding the tokens in flight.
//
// Errors callers branch on:
//
//	situation                                  error
//	token is not two base64url parts           ErrMalformed
//	payload is not run, step and attempt       ErrMalformed
//	signature made by no key of the keyring    ErrForged
//	key material shorter than MinKeyLen bytes  ErrWeakKey
package callback
