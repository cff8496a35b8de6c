package registry_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/grpcmetrics/grpcmetrics/registry"
)

// fullRegistry returns a registry holding all of [registry.New], every vector
// with one series so that the whole exposition is there to lint.
func fullRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	require.NoError(t, m.Register(reg))
	emitOne(t, m.Collectors())
	return reg
}

// checkFlagged compares the set of flagged metric names with the allowlist:
// every flagged name must be listed, and every listed name must be flagged.
func checkFlagged(t *testing.T, flagged map[string][]string) {
	t.Helper()
	allow := registry.LintExceptions()
	for name, problems := range flagged {
		assert.Contains(t, allow, name, "%s is flagged and not in LintExceptions: %q", name, problems)
	}
	for name := range allow {
		assert.Contains(t, flagged, name, "LintExceptions lists %s, which is no longer flagged: remove it", name)
	}
}

func TestPromlintOnlyFlagsTheAllowlist(t *testing.T) {
	mfs, err := fullRegistry(t).Gather()
	require.NoError(t, err)
	require.Len(t, mfs, len(seedTable), "linting every family of the seed")
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	require.NoError(t, err)
	flagged := map[string][]string{}
	for _, p := range problems {
		flagged[p.Metric] = append(flagged[p.Metric], p.Text)
	}
	checkFlagged(t, flagged)
	for name, texts := range flagged {
		t.Logf("allowed: %s: %q", name, texts)
	}
}

// TestPromtoolOnlyFlagsTheAllowlist runs "promtool check metrics" (Debian's
// prometheus package) on the text exposition that promhttp serves. It skips
// when promtool is missing, unless GRPCMETRICS_REQUIRE_PROMETHEUS is set, as
// in CI.
func TestPromtoolOnlyFlagsTheAllowlist(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		require.Empty(t, os.Getenv("GRPCMETRICS_REQUIRE_PROMETHEUS"), "promtool is required: %v", err)
		t.Skip("promtool not installed")
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(fullRegistry(t), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code, "GET /metrics")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = rec.Body
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	// promtool exits 3 when it found lint problems, 1 on a real error.
	var exit *exec.ExitError
	if err != nil {
		require.True(t, errors.As(err, &exit) && exit.ExitCode() == 3, "promtool check metrics: %v\n%s", err, out.String())
	}
	flagged := map[string][]string{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		name, text, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if name != "" {
			flagged[name] = append(flagged[name], text)
		}
	}
	checkFlagged(t, flagged)
}

func TestLintExceptionsAreSeedNames(t *testing.T) {
	allow := registry.LintExceptions()
	var names []string
	for name, reason := range allow {
		names = append(names, name)
		assert.Contains(t, seedNames(""), name, "only the seed's names may be exceptions")
		assert.Contains(t, reason, "Milvus v2.0", "%s: the reason does not say it is kept from Milvus v2.0", name)
	}
	sort.Strings(names)
	t.Logf("exceptions: %q", names)

	// Each call returns a fresh map.
	require.NotEmpty(t, names)
	delete(allow, names[0])
	assert.Contains(t, registry.LintExceptions(), names[0], "modifying the returned map changed the allowlist")
}
