package order

import "strings"

// Order is the workflow's input: an order as placed by the storefront.
type Order struct {
	OrderID  string   `json:"orderId"`
	Customer Customer `json:"customer"`
	Items    []Item   `json:"items"`
	Currency string   `json:"currency,omitempty"`
	Shipping *Address `json:"shippingAddress,omitempty"`
	Payment  Payment  `json:"payment"`
}

// Customer identifies who placed the order.
type Customer struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

// Item is one order line.
type Item struct {
	SKU  string `json:"sku"`
	Name string `json:"name,omitempty"`
	Qty  int    `json:"qty"`
	// UnitPriceCents is the price of one unit in minor units.
	UnitPriceCents int64 `json:"unitPriceCents"`
	// Digital marks an item delivered electronically (no stock, no
	// shipping; it gets a warranty/licence instead).
	Digital bool `json:"digital,omitempty"`
}

// Address is a postal address.
type Address struct {
	Name       string `json:"name,omitempty"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode"`
	// Country is an ISO 3166-1 alpha-2 code ("US").
	Country string `json:"country"`
}

// Payment is how the customer pays.
type Payment struct {
	// CardNumber is a (test) card number; only its last four digits ever
	// leave the charge step.
	CardNumber string `json:"cardNumber"`
	// Country is the card's issuing country (ISO 3166-1 alpha-2), if known.
	Country string `json:"country,omitempty"`
}

// Test card numbers the payment step understands.
const (
	// CardOK is charged successfully.
	CardOK = "4242424242424242"
	// CardDeclined is always declined (a terminal failure).
	CardDeclined = "4000000000000002"
)

// SKU prefixes with a meaning to the sample steps.
const (
	// PrefixAppleCare marks an AppleCare-like extended warranty: a digital SKU.
	PrefixAppleCare = "AC-"
	// PrefixLowStock marks an SKU short at the primary warehouse: reserving it
	// fails retryably on the first attempt and succeeds from a secondary
	// warehouse on the next.
	PrefixLowStock = "LOW-"
	// PrefixOutOfStock marks an SKU that cannot be reserved at all.
	PrefixOutOfStock = "OOS-"
)

// IsDigital reports whether the item is delivered electronically.
func (it Item) IsDigital() bool {
	return it.Digital || strings.HasPrefix(it.SKU, PrefixAppleCare)
}

// TotalCents is the order total in minor units.
func (o Order) TotalCents() int64 {
	var t int64
	for _, it := range o.Items {
		t += int64(it.Qty) * it.UnitPriceCents
	}
	return t
}

// CurrencyCode is the order's currency, "USD" when unset.
func (o Order) CurrencyCode() string {
	if o.Currency == "" {
		return "USD"
	}
	return o.Currency
}

// physical returns the items that need stock and shipping.
func (o Order) physical() []Item {
	var out []Item
	for _, it := range o.Items {
		if !it.IsDigital() {
			out = append(out, it)
		}
	}
	return out
}

// digital returns the items delivered electronically.
func (o Order) digital() []Item {
	var out []Item
	for _, it := range o.Items {
		if it.IsDigital() {
			out = append(out, it)
		}
	}
	return out
}
