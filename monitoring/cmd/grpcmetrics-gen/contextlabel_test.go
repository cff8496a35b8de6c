package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunContextLabelRows checks that -context-label gives a "By <label>" row
// to each flavour that takes context labels (generic and a66), and to no
// other.
func TestRunContextLabelRows(t *testing.T) {
	dir := t.TempDir()
	var errOut bytes.Buffer
	require.NoError(t, run([]string{"-out", dir, "-context-label", "tenant"}, &bytes.Buffer{}, &errOut), errOut.String())
	for _, tt := range []struct {
		flavour string
		row     bool
	}{
		{"generic", true},
		{"a66", true},
		{"milvus", false},
		{"milvus26", false},
	} {
		t.Run(tt.flavour, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "dashboards", tt.flavour+".json"))
			require.NoError(t, err)
			assert.Equal(t, tt.row, bytes.Contains(data, []byte(`"By tenant"`)))
		})
	}
}
