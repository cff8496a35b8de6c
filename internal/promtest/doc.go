// Package promtest holds the helpers that tests use to run a real Prometheus
// server (Debian's prometheus package) against loopback targets and to ask
// it questions through its HTTP query API.
//
// Tests that need the prometheus or promtool binaries call [RequireBinary]:
// it skips the test when the binary is missing, unless the environment
// variable named by [RequireEnv] is set, in which case the test fails, so
// that CI never passes by skipping.
package promtest
