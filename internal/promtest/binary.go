package promtest

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// RequireEnv is the environment variable that turns a missing binary from a
// skip into a failure.
const RequireEnv = "GRPCMETRICS_REQUIRE_PROMETHEUS"

// RequireBinary returns the path of the named binary. It skips the test when
// the binary is missing, unless RequireEnv is set, in which case the test
// fails.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("%s is required (%s is set): %v", name, RequireEnv, err)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

// FreePort returns a loopback address with a port that was free a moment
// ago.
func FreePort(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	if err := lis.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
