package dropouttest

import (
	"os"
	"testing"
)

// RequireEnv is the environment variable that makes a missing device a
// test failure instead of a skip. `make test`, and so CI, sets it.
const RequireEnv = "DROPOUT_REQUIRE_DEVICES"

// Required reports whether missing devices must fail tests.
func Required() bool { return os.Getenv(RequireEnv) != "" }

// Require skips the test when err is non-nil (a backend, device, driver or
// checker is missing), or fails it when RequireEnv is set.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if Required() {
		t.Fatalf("%s is required (%s is set) but unavailable: %v", what, RequireEnv, err)
	}
	t.Skipf("skipping: %s unavailable: %v (set %s=1 to make this a failure)", what, err, RequireEnv)
}
