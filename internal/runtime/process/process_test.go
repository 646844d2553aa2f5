package process_test

import (
	"os"
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime/process/processtest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
)

func TestMain(m *testing.M) { os.Exit(runtimetest.Main(m)) }

func TestContract(t *testing.T) {
	runtimetest.RunContract(t, processtest.Harness(t))
}
