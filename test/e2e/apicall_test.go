package e2e

import "testing"

// apiCall sends one request to the platform's admin API function (which
// may do everything) as its Function URL would, signed as apiCaller.
func apiCall(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	return callAPI(t, "admin", apiCaller, method, path, body)
}
