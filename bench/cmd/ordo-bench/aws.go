package main

import (
	"context"
	"fmt"

	"github.com/ordoflow/ordo/bench"
)

func awsPart(ctx context.Context, s bench.Shape) error {
	fmt.Println("## Local AWS: not implemented yet")
	return nil
}
