package cli

import (
	"testing"
	"time"

	"petset/internal/controller/nodelifecycle"
)

// The node lifecycle timings of `petset server` (and up) are kube-
// controller-manager's by default and reach the control plane's config.
func TestServerNodeMonitorFlags(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		grace, period time.Duration
	}{
		{nil, nodelifecycle.DefaultGracePeriod, nodelifecycle.DefaultMonitorPeriod},
		{[]string{"--node-monitor-grace-period", "16s", "--node-monitor-period", "1s"}, 16 * time.Second, time.Second},
	} {
		cmd := newServerCommand()
		var f controlPlaneFlags
		cmd.ResetFlags()
		f.register(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		got := f.config(nil).NodeLifecycle
		if got.GracePeriod != tc.grace || got.MonitorPeriod != tc.period {
			t.Errorf("%v: grace %v, period %v; want %v, %v", tc.args, got.GracePeriod, got.MonitorPeriod, tc.grace, tc.period)
		}
		if tc.args == nil && (got.GracePeriod != 40*time.Second || got.MonitorPeriod != 5*time.Second) {
			t.Errorf("defaults %v, %v; kube's are 40s, 5s", got.GracePeriod, got.MonitorPeriod)
		}
	}
}

// The default tolerations' seconds are kube-apiserver's 300 unless the
// flags say otherwise (0 included), and reach the control plane's config.
func TestServerDefaultTolerationFlags(t *testing.T) {
	for _, tc := range []struct {
		args                  []string
		notReady, unreachable int64
	}{
		{nil, 300, 300},
		{[]string{"--default-not-ready-toleration-seconds", "0", "--default-unreachable-toleration-seconds", "8"}, 0, 8},
	} {
		cmd := newServerCommand()
		var f controlPlaneFlags
		cmd.ResetFlags()
		f.register(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		got := f.config(nil).Tolerations
		if got.NotReadySeconds == nil || got.UnreachableSeconds == nil || *got.NotReadySeconds != tc.notReady || *got.UnreachableSeconds != tc.unreachable {
			t.Errorf("%v: tolerations %+v; want %d, %d", tc.args, got, tc.notReady, tc.unreachable)
		}
	}
}

// --auto-failover (off by default) reaches the control plane's config.
func TestServerAutoFailoverFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{{nil, false}, {[]string{"--auto-failover"}, true}} {
		cmd := newServerCommand()
		var f controlPlaneFlags
		cmd.ResetFlags()
		f.register(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := f.config(nil).AutoFailover; got != tc.want {
			t.Errorf("%v: AutoFailover %v, want %v", tc.args, got, tc.want)
		}
	}
}
