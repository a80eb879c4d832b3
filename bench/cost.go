package bench

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed prices.json
var pricesJSON []byte

// Price is one list price: USD per Per units.
type Price struct {
	USD    float64 `json:"usd"`
	Per    float64 `json:"per"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
}

// Each is the price of one unit.
func (p Price) Each() float64 { return p.USD / p.Per }

// Prices is bench/prices.json: the AWS list prices the cost model uses,
// with their sources and the date they were checked.
type Prices struct {
	Region  string           `json:"region"`
	Checked string           `json:"checked"`
	Prices  map[string]Price `json:"prices"`
}

// LoadPrices returns the embedded prices.json.
func LoadPrices() (Prices, error) {
	var p Prices
	if err := json.Unmarshal(pricesJSON, &p); err != nil {
		return p, fmt.Errorf("bench: prices.json: %w", err)
	}
	for _, k := range []string{"lambda_request", "lambda_gb_second_arm64", "dynamodb_write_request_unit",
		"dynamodb_read_request_unit", "sqs_request", "stepfunctions_standard_transition"} {
		if p.Prices[k].Per == 0 {
			return p, fmt.Errorf("bench: prices.json has no %s", k)
		}
	}
	return p, nil
}

// PerStep is what one step transition uses on AWS.
type PerStep struct {
	Invokes        float64 // Lambda requests to step functions
	OrchestratorS  float64 // orchestrator Lambda seconds billed per step
	OrchestratorMB float64
	StepS          float64 // step Lambda seconds billed per step
	StepMB         float64
	WriteUnits     float64 // DynamoDB write request units
	ReadUnits      float64 // DynamoDB read request units
	SQSRequests    float64
	// OrchestratorInvokes is orchestrator Lambda requests per step (its
	// triggers: one per run plus continuations).
	OrchestratorInvokes float64
}

// Cost is the cost of one million step transitions, item by item.
type Cost struct {
	Items []CostItem
	Total float64
	// StepFunctions is Step Functions Standard's price for the same
	// transitions.
	StepFunctions float64
}

// CostItem is one line of a Cost.
type CostItem struct {
	Name string
	USD  float64
}

// PerMillion prices a million step transitions using u.
func (p Prices) PerMillion(u PerStep) Cost {
	const m = 1e6
	pr := p.Prices
	gbs := func(s, mb float64) float64 { return s * mb / 1024 }
	items := []CostItem{
		{"Lambda requests (steps + orchestrator)", m * (u.Invokes + u.OrchestratorInvokes) * pr["lambda_request"].Each()},
		{"Lambda GB-s, orchestrator (arm64)", m * gbs(u.OrchestratorS, u.OrchestratorMB) * pr["lambda_gb_second_arm64"].Each()},
		{"Lambda GB-s, steps (arm64)", m * gbs(u.StepS, u.StepMB) * pr["lambda_gb_second_arm64"].Each()},
		{"DynamoDB write units", m * u.WriteUnits * pr["dynamodb_write_request_unit"].Each()},
		{"DynamoDB read units", m * u.ReadUnits * pr["dynamodb_read_request_unit"].Each()},
		{"SQS requests", m * u.SQSRequests * pr["sqs_request"].Each()},
	}
	c := Cost{Items: items, StepFunctions: m * pr["stepfunctions_standard_transition"].Each()}
	for _, it := range items {
		c.Total += it.USD
	}
	return c
}

func (c Cost) String() string {
	var b strings.Builder
	for _, it := range c.Items {
		fmt.Fprintf(&b, "  %-42s $%8.4f\n", it.Name, it.USD)
	}
	fmt.Fprintf(&b, "  %-42s $%8.4f   (Step Functions Standard: $%.2f, %.1fx)\n", "total per 1M step transitions", c.Total, c.StepFunctions, c.StepFunctions/c.Total)
	return b.String()
}
