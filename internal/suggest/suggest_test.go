package suggest

import (
	"fmt"
	"testing"
)

func TestClosest(t *testing.T) {
	names := []string{"concession-receive", "concession-refund", "order-ship", "order-verify"}
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"concession-recieve", []string{"concession-receive"}},
		{"order-shp", []string{"order-ship"}},
		{"concession", []string{"concession-receive", "concession-refund"}},
		{"payments-capture", nil},
	} {
		if got := Closest(tt.name, names); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Closest(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
