package registry_test

import (
	"bufio"
	"bytes"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/grpcmetrics/grpcmetrics/registry"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// fullRegistry returns a registry holding all of [registry.New], every vector
// with one series so that the whole exposition is there to lint.
func fullRegistry(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := registry.New()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	emitOne(t, m.Collectors())
	return reg
}

// checkFlagged compares the set of flagged metric names with the allowlist:
// every flagged name must be listed, and every listed name must be flagged.
func checkFlagged(t *testing.T, flagged map[string][]string) {
	t.Helper()
	allow := registry.LintExceptions()
	for name, problems := range flagged {
		if _, ok := allow[name]; !ok {
			t.Errorf("%s is flagged and not in LintExceptions: %q", name, problems)
		}
	}
	for name := range allow {
		if _, ok := flagged[name]; !ok {
			t.Errorf("LintExceptions lists %s, which is no longer flagged: remove it", name)
		}
	}
}

func TestPromlintOnlyFlagsTheAllowlist(t *testing.T) {
	mfs, err := fullRegistry(t).Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != len(seedTable) {
		t.Fatalf("linting %d families, want all %d", len(mfs), len(seedTable))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
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
		if os.Getenv("GRPCMETRICS_REQUIRE_PROMETHEUS") != "" {
			t.Fatalf("promtool is required: %v", err)
		}
		t.Skip("promtool not installed")
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(fullRegistry(t), promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d", rec.Code)
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = rec.Body
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	// promtool exits 3 when it found lint problems, 1 on a real error.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) {
		t.Fatalf("promtool check metrics: %v\n%s", err, out.String())
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
		if !slices.Contains(seedNames(""), name) {
			t.Errorf("%s is not a seed name; only the seed's names may be exceptions", name)
		}
		if !strings.Contains(reason, "seed") {
			t.Errorf("%s: reason %q does not say it is kept from the seed", name, reason)
		}
	}
	sort.Strings(names)
	t.Logf("exceptions: %q", names)

	// Each call returns a fresh map.
	delete(allow, names[0])
	if _, ok := registry.LintExceptions()[names[0]]; !ok {
		t.Error("modifying the returned map changed the allowlist")
	}
}
