// Package oms holds the small helpers the OMS sample workflows share:
// deterministic identifiers and the side effects steps emit (customer email,
// domain events). Everything here is pure apart from step.Emit, so a step
// replayed from its recorded input produces the same output and effects.
package oms

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ordoflow/ordo/orchestrator/step"
)

// Effect kinds and targets the sample workflows emit. Persisted in journals:
// never rename one.
const (
	// KindEmail sends a templated email; the target is the address.
	KindEmail = "email"
	// KindPublish publishes a domain event; the target is the topic/stream.
	KindPublish = "publish"
	// TopicOrderEvents is the stream order lifecycle events are published on.
	TopicOrderEvents = "order-events"
)

// ID derives a stable identifier "<prefix>_<16 hex>" from parts: the same
// parts always give the same id, so a retried or replayed step hands the same
// id to downstream systems that de-duplicate by it.
func ID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		// Length-prefix each part so ("ab","c") and ("a","bc") differ.
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return prefix + "_" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Digits derives n decimal digits from parts (for tracking and RMA numbers).
func Digits(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteByte('0' + sum[i%len(sum)]%10)
	}
	return b.String()
}

// EmailPayload is the payload of an "email" effect: the template to render
// and the values it needs.
type EmailPayload struct {
	Template string         `json:"template"`
	OrderID  string         `json:"orderId"`
	Data     map[string]any `json:"data,omitempty"`
}

// Email emits an "email" effect to address with template and data.
func Email(ctx context.Context, address, template, orderID string, data map[string]any) error {
	return emit(ctx, KindEmail, address, EmailPayload{Template: template, OrderID: orderID, Data: data})
}

// Event is the payload of a "publish" effect: a domain event.
type Event struct {
	Type    string `json:"type"`
	OrderID string `json:"orderId"`
	Data    any    `json:"data,omitempty"`
}

// Publish emits a "publish" effect of event type typ to topic.
func Publish(ctx context.Context, topic, typ, orderID string, data any) error {
	return emit(ctx, KindPublish, topic, Event{Type: typ, OrderID: orderID, Data: data})
}

func emit(ctx context.Context, kind, target string, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		return step.Terminal(fmt.Errorf("%s effect: encode payload: %w", kind, err))
	}
	step.Emit(ctx, step.Effect{Kind: kind, Target: target, Payload: b})
	return nil
}

// Attempt returns the attempt number of the step running in ctx, from 1
// (1 also outside a step or when the request carries no attempt).
func Attempt(ctx context.Context) int {
	if req, ok := step.RequestFrom(ctx); ok && req.Attempt > 0 {
		return req.Attempt
	}
	return 1
}

// ValidEmail reports whether s looks like an email address (one '@', a
// non-empty local part and a dotted domain). Deliberately simple: the mail
// system is the real judge.
func ValidEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && !strings.Contains(domain, "@") &&
		strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// FormatCents renders an amount in minor units as "12.34 USD".
func FormatCents(cents int64, currency string) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, cents/100, cents%100, currency)
}

// SetState sets the step's state patch like step.SetState, but is a no-op
// outside a step (as step.Emit is), so step functions can also be called
// directly. A patch that does not encode is a bug: it fails terminally.
func SetState(ctx context.Context, patch any) error {
	if _, ok := step.RequestFrom(ctx); !ok {
		return nil
	}
	if err := step.SetState(ctx, patch); err != nil {
		return step.Terminal(err)
	}
	return nil
}
