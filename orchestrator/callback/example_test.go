package callback_test

import (
	"fmt"

	"github.com/ordoflow/ordo/orchestrator/callback"
)

func Example() {
	key, _ := callback.NewKey()
	ring, _ := callback.NewKeyring(key)
	token := ring.Sign(callback.Claims{Run: "order/o-1", Step: "approve", Attempt: 1})
	c, err := ring.Verify(token)
	fmt.Println(c.Run, c.Step, c.Attempt, err)
	other, _ := callback.NewKey()
	stranger, _ := callback.NewKeyring(other)
	_, err = stranger.Verify(token)
	fmt.Println(err)
	// Output:
	// order/o-1 approve 1 <nil>
	// callback: token signature does not match any deployment key
}
