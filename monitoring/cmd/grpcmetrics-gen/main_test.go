package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// moduleRoot is the monitoring module's directory, where the generated
// files are checked in.
const moduleRoot = "../.."

// TestCheckedInFilesAreCurrent regenerates every file with the default flags
// into a temporary directory and fails on any difference from the
// checked-in copy. Run "go run ./cmd/grpcmetrics-gen" in the monitoring
// module to update them.
func TestCheckedInFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	require.NoError(t, run([]string{"-out", dir}, &out, &errOut), errOut.String())
	var generated []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		generated = append(generated, rel)
		return nil
	}))
	assert.ElementsMatch(t, []string{
		filepath.Join("dashboards", "milvus.json"),
		filepath.Join("dashboards", "generic.json"),
		filepath.Join("rules", "milvus.rules.yml"),
		filepath.Join("rules", "generic.rules.yml"),
		filepath.Join("dashboards", "milvus26.json"),
		filepath.Join("rules", "milvus26.rules.yml"),
		filepath.Join("dashboards", "milvus26-v2.6.21.json"),
		filepath.Join("rules", "milvus26-v2.6.21.rules.yml"),
		filepath.Join("dashboards", "a66.json"),
		filepath.Join("rules", "a66.rules.yml"),
	}, generated)
	for _, rel := range generated {
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, rel))
			require.NoError(t, err)
			got, err := os.ReadFile(filepath.Join(moduleRoot, rel))
			require.NoError(t, err, "the generated file is not checked in")
			if !bytes.Equal(got, want) {
				t.Errorf("monitoring/%s differs from what grpcmetrics-gen writes today; run `go run ./cmd/grpcmetrics-gen` in monitoring/ and commit the result", filepath.ToSlash(rel))
			}
		})
	}
	assert.Equal(t, 10, strings.Count(out.String(), "wrote "))
}

// TestRunDeterministic generates twice and expects the same bytes.
func TestRunDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	require.NoError(t, run([]string{"-out", a}, &bytes.Buffer{}, &bytes.Buffer{}))
	require.NoError(t, run([]string{"-out", b}, &bytes.Buffer{}, &bytes.Buffer{}))
	for _, rel := range []string{"dashboards/milvus.json", "dashboards/generic.json", "rules/milvus.rules.yml", "rules/generic.rules.yml", "dashboards/milvus26.json", "rules/milvus26.rules.yml", "dashboards/milvus26-v2.6.21.json", "rules/milvus26-v2.6.21.rules.yml", "dashboards/a66.json", "rules/a66.rules.yml"} {
		x, err := os.ReadFile(filepath.Join(a, rel))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(b, rel))
		require.NoError(t, err)
		assert.Equal(t, string(x), string(y), rel)
	}
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		files   []string
	}{
		{name: "one flavour", args: []string{"-flavour", "generic"}, files: []string{"dashboards/generic.json", "rules/generic.rules.yml"}},
		{name: "milvus26 only", args: []string{"-flavour", "milvus26", "-milvus26-job", "proxy"}, files: []string{"dashboards/milvus26.json", "rules/milvus26.rules.yml"}},
		{name: "milvus26 line", args: []string{"-flavour", "milvus26", "-milvus26-line", "v2.6.20"}, files: []string{"dashboards/milvus26-v2.6.20.json", "rules/milvus26-v2.6.20.rules.yml"}},
		{name: "milvus26 line, every job, replicas", args: []string{"-flavour", "milvus26", "-milvus26-line", "v2.6.21", "-milvus26-job", "", "-replica-label", "replica"}, files: []string{"dashboards/milvus26-v2.6.21.json", "rules/milvus26-v2.6.21.rules.yml"}},
		{name: "milvus26 default line", args: []string{"-flavour", "milvus26", "-milvus26-line", "v2.6.16"}, files: []string{"dashboards/milvus26.json", "rules/milvus26.rules.yml"}},
		{name: "milvus26 v2.6.19", args: []string{"-flavour", "milvus26", "-milvus26-line", "v2.6.19"}, wantErr: `Milvus 2.6 line "v2.6.19" is no release line`},
		{name: "line of another flavour", args: []string{"-flavour", "generic", "-milvus26-line", "v2.6.21"}, wantErr: "the generic flavour takes no Milvus 2.6 line"},
		{name: "line with all", args: []string{"-milvus26-line", "v2.6.21"}, wantErr: "-milvus26-line: give -flavour milvus26 too"},
		{name: "every job", args: []string{"-milvus26-job", "", "-a66-job", "", "-milvus-job", "", "-generic-job", ""}, files: []string{"rules/milvus.rules.yml", "rules/a66.rules.yml"}},
		{name: "a66 only", args: []string{"-flavour", "a66", "-a66-job", "grpc-a66"}, files: []string{"dashboards/a66.json", "rules/a66.rules.yml"}},
		{name: "replica labels", args: []string{"-replica-label", "replica,cluster"}, files: []string{"rules/milvus.rules.yml", "rules/milvus26.rules.yml"}},
		{name: "bad replica label", args: []string{"-replica-label", "instance"}, wantErr: `replica label "instance" is a label the rules read already`},
		{name: "unknown flavour", args: []string{"-flavour", "mysql"}, wantErr: `-flavour "mysql"`},
		{name: "objective too low", args: []string{"-objective", "0.5"}, wantErr: "fast-burn threshold"},
		{name: "objective out of range", args: []string{"-objective", "1"}, wantErr: "objective 1 is not between 0 and 1"},
		{name: "error ratio out of range", args: []string{"-error-ratio", "0"}, wantErr: "error ratio 0"},
		{name: "job not UTF-8", args: []string{"-milvus-job", "a\xff"}, wantErr: "not valid UTF-8"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "bad flag", args: []string{"-nope"}, wantErr: "flag provided but not defined"},
		{name: "context label", args: []string{"-context-label", "tenant,region"}, files: []string{"dashboards/generic.json", "dashboards/milvus.json"}},
		{name: "bad context label", args: []string{"-context-label", "ten-ant"}, wantErr: `context label "ten-ant" is not a valid label name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var errOut bytes.Buffer
			err := run(append([]string{"-out", dir}, tt.args...), &bytes.Buffer{}, &errOut)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error()+errOut.String(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			for _, f := range tt.files {
				assert.FileExists(t, filepath.Join(dir, f))
			}
		})
	}
}
