package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/examples/recoverylog"
)

// TestFirstScreen runs the demo once, as a newcomer does, and checks its
// first screen: the table of counters comes first, and the servers' logs
// (a line per call, the stacks of the panics the workload provokes) show
// only with -v.
func TestFirstScreen(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "-v"}[verbose], func(t *testing.T) {
			cfg := loopback()
			cfg.verbose = verbose
			var out, logs strings.Builder
			cfg.logs = &logs
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // run stops right after printing
			require.NoError(t, run(ctx, cfg, &out))

			lines := strings.Split(out.String(), "\n")
			assert.Regexp(t, `^\s*metric\s+total\s+success\s+fail$`, lines[0], "the first line is the table's header")
			if verbose {
				assert.Contains(t, logs.String(), recoverylog.LogMessage)
				assert.Contains(t, logs.String(), "finished call")
				assert.Contains(t, logs.String(), `"grpc.code": "OK"`, "every call, OK ones too")
			} else {
				assert.Empty(t, logs.String(), "without -v the demo logs nothing on a normal run")
			}
		})
	}
}
