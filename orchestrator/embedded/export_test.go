package embedded

// Waiters reports how many Waits on run are registered and not yet answered.
func Waiters(r *Runtime, run string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiters[run])
}
