//go:build race

package interceptor_test

// axRace reports whether the race detector is on: over bufconn it moves
// allocation counts by one either way, so the comparisons run without it.
const axRace = true
