package dynamojournal

import (
	"os"
	"strings"
	"testing"
)

// TestCapacityModel drives 100,000 step transitions per second through the
// key design (PeakDay) and checks that no partition key of the table or of
// an index takes more than DynamoDB's 1,000 WCU/s or 3,000 RCU/s at the
// shard count docs/SCALING.md recommends for that peak, and that the
// default shard count would not (so the model can tell). It prints the
// partition table and the quotas to raise (-v).
func TestCapacityModel(t *testing.T) {
	const recommended = 64
	c, err := Model(PeakDay(recommended))
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		c.WriteTo(os.Stdout)
	}
	for _, p := range c.Partitions {
		if p.HotWrite > PartitionWCU {
			t.Errorf("%s: partition %s takes %.0f WCU/s, over %d", p.Where, p.HotWriteKey, p.HotWrite, PartitionWCU)
		}
		if p.HotRead > PartitionRCU {
			t.Errorf("%s: partition %s takes %.0f RCU/s, over %d", p.Where, p.HotReadKey, p.HotRead, PartitionRCU)
		}
	}
	// One run's partition: its commits come one per step duration plus the
	// orchestrator's own time, so at 1 ms steps about 60 WCU/s.
	w := c.Workload
	if perRun := float64(c.Items.Step) / (0.001 + w.OrchestratorTime.Seconds()); perRun > PartitionWCU {
		t.Errorf("one run's partition at 1 ms steps: %.0f WCU/s, over %d", perRun, PartitionWCU)
	}
	raise := 0
	for _, q := range c.Quotas {
		if q.Raise() {
			raise++
		}
	}
	if raise == 0 {
		t.Error("the peak needs no quota raised: the model is not exercising the account limits")
	}

	// The same peak at the default shard count overloads the busiest
	// workflow's byWorkflow shards: the check above can fail.
	small, err := Model(PeakDay(DefaultIndexShards))
	if err != nil {
		t.Fatal(err)
	}
	if small.Fits() {
		t.Errorf("at %d shards the peak fits; the model expects the busiest byWorkflow partition over %d WCU/s", DefaultIndexShards, PartitionWCU)
	}
	for _, p := range small.Partitions {
		if p.Over() {
			t.Logf("at the default %d shards %s's busiest partition would take %.0f WCU/s (over %d)", DefaultIndexShards, p.Where, p.HotWrite, PartitionWCU)
		}
	}
	need, err := MinShards(PeakDay(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("smallest power-of-two shard count keeping every partition under its limits at this peak: %d", need)
	if need == 0 || need > recommended {
		t.Errorf("the peak needs %d shards, more than the %d docs/SCALING.md recommends", need, recommended)
	}
}

// TestCapacityModelRefusesBadWorkloads: each field out of range is named.
func TestCapacityModelRefusesBadWorkloads(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Workload)
		want string
	}{
		{func(w *Workload) { w.Transitions = 0 }, "transitions"},
		{func(w *Workload) { w.Workflows = 0 }, "workflows"},
		{func(w *Workload) { w.HotShare = 1.5 }, "hot share"},
		{func(w *Workload) { w.RunSteps = []int{5, 0} }, "run length 0"},
		{func(w *Workload) { w.RunSteps = nil }, "run lengths"},
		{func(w *Workload) { w.Review = -0.1 }, "review share"},
		{func(w *Workload) { w.Shards = 0 }, "shards 0"},
		{func(w *Workload) { w.Batch = 0 }, "batch 0"},
	} {
		w := PeakDay(8)
		tc.edit(&w)
		_, err := Model(w)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want one naming %q", tc.want, err, tc.want)
		}
	}
}

// TestCapacityModelNoReview: a workload with no runs to review is modelled
// (no division by a zero share), and no run enters ST#review.
func TestCapacityModelNoReview(t *testing.T) {
	w := PeakDay(8)
	w.Review, w.Transitions = 0, 1000
	writes, _, _, _, err := simulate(w)
	if err != nil {
		t.Fatal(err)
	}
	for key := range writes[IndexByStatus] {
		if strings.HasPrefix(key, "ST#review") {
			t.Errorf("a run was written to %s with no review share", key)
		}
	}
}
