package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRun runs the demo once (with its context already done, so it stops
// right after printing) and checks that it printed non-zero success and fail
// counts for proxy and rootcoord methods.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", &out) }()
	// run returns after the workload and the table once ctx is done.
	cancel()
	require.NoError(t, <-done)
	table := out.String()
	for _, row := range []string{
		`milvus_proxy_create_collection_total\s+6\s+2\s+4`,
		`milvus_rootcoord_create_collection_total\{client_id="client_1"\}\s+3\s+1\s+2`,
		`milvus_rootcoord_create_collection_total\{client_id="client_2"\}\s+3\s+1\s+2`,
		`milvus_rootcoord_show_collections_total\{client_id="client_2"\}\s+1\s+0\s+1`,
	} {
		assert.Regexp(t, regexp.MustCompile(row), table)
	}
}
