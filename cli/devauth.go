package cli

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/ordoflow/ordo/api"
)

// tokenFile is where `ordo dev` keeps its bearer tokens: beside the journal.
func tokenFile(db string) string { return db + ".tokens" }

// devServer serves h on loopback names only, with read timeouts: a client
// that sends half a request is cut off instead of holding a connection.
func devServer(h http.Handler) *http.Server {
	return &http.Server{Handler: api.Loopback(h), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute}
}

// bearer returns the token the CLI sends to `ordo dev` for role: ORDO_TOKEN
// when set, else the role's token in the file beside the journal.
func bearer(db string, role api.Role) (string, error) {
	if t := os.Getenv("ORDO_TOKEN"); t != "" {
		return t, nil
	}
	if _, err := os.Stat(tokenFile(db)); err != nil {
		return "", fmt.Errorf("no token for the dev server (set ORDO_TOKEN, or --db the journal `ordo dev` serves): %w", err)
	}
	tf, err := api.LoadTokenFile(tokenFile(db))
	if err != nil {
		return "", err
	}
	return tf[role], nil
}
