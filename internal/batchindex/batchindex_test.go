package batchindex

import (
	"reflect"
	"testing"
)

func TestParseFormat(t *testing.T) {
	got, err := Parse("0,2-4,7", 8)
	if err != nil || !reflect.DeepEqual(got, []int32{0, 2, 3, 4, 7}) {
		t.Fatalf("Parse = %v, %v", got, err)
	}
	if s := Format([]int32{7, 3, 2, 0, 4, 3}); s != "0,2-4,7" {
		t.Errorf("Format = %q", s)
	}
	for _, bad := range []string{"8", "3,1", "2-2", "x", "1-", "-1"} {
		if _, err := Parse(bad, 8); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
