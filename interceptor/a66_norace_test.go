//go:build !race

package interceptor_test

// axRace reports whether the race detector is on (see a66_race_test.go).
const axRace = false
