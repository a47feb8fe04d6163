package testutil

import (
	"testing"
	"time"

	"github.com/qcc-dev/qcc/internal/cluster"
	"github.com/qcc-dev/qcc/internal/config"
)

// Snapshot parses a clusters.toml and builds the runtime snapshot qccd
// would serve it with, failing the test on any problem. The file counts as
// private (mode 0600), so that literal keys raise no warning, and the
// environment is empty, so that no env: secret leaks in from the machine.
func Snapshot(t testing.TB, toml string) *cluster.Snapshot {
	t.Helper()
	cfg, err := config.Parse("test.toml", []byte(toml), config.Options{
		FileMode:  0o600,
		LookupEnv: func(string) (string, bool) { return "", false },
	})
	if err != nil {
		t.Fatalf("config:\n%s\n%v", toml, err)
	}
	snap, err := cluster.NewRegistry(nil).Build(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
