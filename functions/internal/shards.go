package internal

import (
	"fmt"
	"os"
	"strconv"

	"github.com/ordoflow/ordo/journal/dynamojournal"
)

// maxIndexShards bounds ORDO_INDEX_SHARDS: listings query every shard.
const maxIndexShards = 1024

// IndexShards reads ORDO_INDEX_SHARDS (template parameter IndexShards),
// the number of shards of the journal's index partition keys, and returns
// the journal option that sets it; none when the variable is unset or
// empty (dynamojournal.DefaultIndexShards). It fails on anything but a
// whole number from 1 to 1024. The count may change on a live deployment
// (the table records the largest used; docs/deploy.md).
func IndexShards() ([]dynamojournal.Option, error) {
	v := os.Getenv("ORDO_INDEX_SHARDS")
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxIndexShards {
		return nil, fmt.Errorf("ORDO_INDEX_SHARDS=%q: want a whole number of index shards from 1 to %d", v, maxIndexShards)
	}
	return []dynamojournal.Option{dynamojournal.WithIndexShards(n)}, nil
}
