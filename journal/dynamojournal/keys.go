package dynamojournal

import (
	"hash/fnv"
	"strconv"

	"github.com/ordoflow/ordo/journal"
)

// DefaultIndexShards is how many shards each index partition key is split
// into (WithIndexShards). A DynamoDB partition takes about 1,000 write
// units per second, and a time-ordered sort key keeps DynamoDB from
// splitting a hot one. Each run writes its status partitions about twice
// per status it passes through (a put on entering, a delete on leaving:
// ST#running takes both for every run) and its workflow's partition once,
// when it settles. So size N at least 2 × (peak runs started per second)
// / 1,000 for ST#running, and (the busiest workflow's runs settling per
// second) / 1,000 for its WF# partition: 8 shards carry about 4,000 runs/s
// through running, about 20,000 step transitions/s at 5 steps a run.
// Listings query N+1 partitions per status or workflow (a workflow's
// listing also those of the 4 unsettled statuses), so more shards cost
// more reads. Review items are sharded the same way (ReviewPartition).
const DefaultIndexShards = 8

// The key design, exported so that capacity models compute the partitions
// a workload writes with the functions the Store uses (not a copy).

// Shard is the index shard of run among shards: FNV-1a of the run id,
// modulo shards. A run keeps its shard for life, so it moves between
// status partitions but never between shards.
func Shard(run string, shards int) int {
	if shards <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(run))
	return int(h.Sum32() % uint32(shards))
}

// RunPartition is the table partition key of run's commits and head.
func RunPartition(run string) string { return runKey(run) }

// StatusPartition is the byStatus partition key of run's head while it is
// in status: "ST#<status>#<shard>".
func StatusPartition(status journal.Status, run string, shards int) string {
	return prefixStatus + string(status) + "#" + strconv.Itoa(Shard(run, shards))
}

// WorkflowPartition is the byWorkflow partition key of run's head:
// "WF#<workflow>#<shard>".
func WorkflowPartition(workflow, run string, shards int) string {
	return prefixWF + workflow + "#" + strconv.Itoa(Shard(run, shards))
}

// statusPartitions are the byStatus partitions a listing of status reads:
// every shard, and the unsharded key of heads written before the index
// was sharded ("ST#<status>"), last.
func statusPartitions(status journal.Status, shards int) []string {
	return partitions(prefixStatus+string(status), shards)
}

// workflowPartitions are the byWorkflow partitions a listing of workflow
// reads, as statusPartitions.
func workflowPartitions(workflow string, shards int) []string {
	return partitions(prefixWF+workflow, shards)
}

func partitions(legacy string, shards int) []string {
	out := make([]string, 0, shards+1)
	for i := range max(shards, 1) {
		out = append(out, legacy+"#"+strconv.Itoa(i))
	}
	return append(out, legacy)
}
