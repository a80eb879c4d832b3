//go:build !race

package internal_test

// race is true under the race detector.
const race = false
