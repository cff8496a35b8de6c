package promtest

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is a bytes.Buffer safe for a process's writers and a test's
// readers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Job is one scrape job: a name and the host:port targets it scrapes.
type Job struct {
	Name    string
	Targets []string
}

// Config says what a Prometheus server started by [Start] scrapes and which
// rule files it loads. Scrapes and rule evaluations run every second.
type Config struct {
	Jobs      []Job
	RuleFiles []string // absolute paths
	// Features are turned on with --enable-feature, such as
	// "exemplar-storage" (see [ExemplarStorage]).
	Features []string
	// ExternalLabels are added to every series the server sends by remote
	// write (and to its alerts), such as the replica label of each agent
	// of a highly available pair.
	ExternalLabels map[string]string
}

// ExemplarStorage is the feature that makes Prometheus keep the exemplars it
// scrapes and answer /api/v1/query_exemplars.
const ExemplarStorage = "exemplar-storage"

// Server is a running Prometheus server.
type Server struct {
	// URL is the server's base URL, such as "http://127.0.0.1:40123".
	URL string
	// Out holds the server's log output.
	Out *SyncBuffer
}

// config renders c as a Prometheus configuration file.
func (c Config) config() string {
	var b strings.Builder
	b.WriteString("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	if len(c.ExternalLabels) > 0 {
		b.WriteString("  external_labels:\n")
		for _, k := range slices.Sorted(maps.Keys(c.ExternalLabels)) {
			fmt.Fprintf(&b, "    %s: %q\n", k, c.ExternalLabels[k])
		}
	}
	if len(c.RuleFiles) > 0 {
		b.WriteString("rule_files:\n")
		for _, f := range c.RuleFiles {
			fmt.Fprintf(&b, "  - %q\n", f)
		}
	}
	b.WriteString("scrape_configs:\n")
	for _, j := range c.Jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets:\n", j.Name)
		for _, t := range j.Targets {
			fmt.Fprintf(&b, "          - %q\n", t)
		}
	}
	return b.String()
}

// Start runs the Prometheus binary bin with cfg on a free loopback port until
// the test ends. If the test failed, the server's output is logged.
func Start(t testing.TB, bin string, cfg Config) *Server {
	t.Helper()
	return StartYAML(t, bin, cfg.config(), cfg.Features...)
}

// StartYAML runs the Prometheus binary bin with the configuration text
// config, and the features named (see [Config.Features]), on a free loopback
// port until the test ends. Rule files that config names by a relative path
// are read relative to a temporary directory: make them absolute. If the
// test failed, the server's output is logged.
func StartYAML(t testing.TB, bin, config string, features ...string) *Server {
	t.Helper()
	args := []string{"--storage.tsdb.path=" + filepath.Join(t.TempDir(), "data")}
	for _, f := range features {
		args = append(args, "--enable-feature="+f)
	}
	return run(t, bin, config, args...)
}

// run runs bin with the configuration text config, listening on a free
// loopback port, with args added to its command line, until the test ends,
// and returns once the server is ready. A port that another process takes
// between FreePort and Prometheus's bind (a busy machine running tests in
// parallel) makes Prometheus exit at once; run then tries another port. If
// the test failed, the server's output is logged.
func run(t testing.TB, bin, config string, args ...string) *Server {
	t.Helper()
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(file, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	const attempts = 5
	for attempt := 1; ; attempt++ {
		srv, exited := start(t, bin, file, args)
		if !exited {
			return srv
		}
		if attempt == attempts || !strings.Contains(srv.Out.String(), "address already in use") {
			t.Fatalf("prometheus exited before it was ready (attempt %d of %d):\n%s", attempt, attempts, srv.Out.String())
		}
	}
}

// readyTimeout bounds how long start waits for Prometheus's /-/ready.
const readyTimeout = 60 * time.Second

// start starts bin once with the configuration file file on a free loopback
// port, stops it when the test ends, and waits until it is ready or has
// exited (exited is then true).
func start(t testing.TB, bin, file string, args []string) (srv *Server, exited bool) {
	t.Helper()
	listen := FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{
		"--config.file=" + file,
		"--web.listen-address=" + listen,
	}, args...)...)
	out := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() {
		// The exit status says nothing here: the process is killed on
		// purpose at the end, or its output says why it stopped.
		if err := cmd.Wait(); err != nil {
			fmt.Fprintf(out, "\n(prometheus exited: %v)\n", err)
		}
		close(done)
	}()
	t.Cleanup(func() {
		cancel() // kills the process
		<-done
		if t.Failed() {
			t.Logf("prometheus %v output:\n%s", args, out.String())
		}
	})
	srv = &Server{URL: "http://" + listen, Out: out}
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return srv, true
		case <-time.After(50 * time.Millisecond):
		}
		if ready(srv.URL) {
			return srv, false
		}
	}
	t.Fatalf("prometheus was not ready after %v:\n%s", readyTimeout, out.String())
	return nil, false
}

// ready reports whether the Prometheus at base answers /-/ready with 200.
func ready(base string) bool {
	resp, err := http.Get(base + "/-/ready")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
