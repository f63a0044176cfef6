package cli

import (
	"strings"
	"testing"
)

func TestSimCapacity(t *testing.T) {
	f := &nodeFlags{simulate: 3, simCap: map[string]string{"cpu": "500m", "memory": "1Gi", "example.com/gpu": "2"}}
	c, err := f.simCapacity()
	if err != nil {
		t.Fatal(err)
	}
	if c.Cpu().MilliValue() != 500 || c.Memory().String() != "1Gi" || c.Name("example.com/gpu", "").String() != "2" || len(c) != 3 {
		t.Errorf("parsed %v", c)
	}
	for _, tc := range []struct {
		f    nodeFlags
		want string
	}{
		{nodeFlags{simulate: 1, simCap: map[string]string{"cpu": "lots"}}, "--simulate-node-capacity: cpu=lots"},
		{nodeFlags{simulate: 1, simCap: map[string]string{"memory": "-1Gi"}}, "must not be negative"},
		{nodeFlags{simulate: 1, simCap: map[string]string{"a b": "1"}}, `resource name "a b"`},
		{nodeFlags{simCap: map[string]string{"cpu": "8"}}, "applies to simulated nodes only"},
	} {
		if _, err := tc.f.simCapacity(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.f.simCap, err, tc.want)
		}
	}
	one := &nodeFlags{simulateOne: true, simCap: map[string]string{"pods": "10"}}
	if c, err := one.simCapacity(); err != nil || c.Pods().Value() != 10 {
		t.Errorf("agent --simulate: %v %v", c, err)
	}
}
