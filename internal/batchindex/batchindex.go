// Package batchindex reads and writes the index lists of Indexed Jobs
// (status.completedIndexes, status.failedIndexes, a success policy's
// succeededIndexes): ascending, comma-separated intervals such as
// "1,3-5,7", each index below the job's completions.
package batchindex

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Parse returns the indexes of s in ascending order. It fails, as kube's
// API validation does, for a malformed interval, an index not below
// completions, intervals out of order or overlapping.
func Parse(s string, completions int32) ([]int32, error) {
	if s == "" {
		return nil, nil
	}
	var out []int32
	prev := int32(-1)
	for _, part := range strings.Split(s, ",") {
		lo, hi, err := interval(part, completions)
		if err != nil {
			return nil, err
		}
		if lo <= prev {
			return nil, fmt.Errorf("non-increasing order, previous: %d, current: %d", prev, lo)
		}
		for i := lo; i <= hi; i++ {
			out = append(out, i)
		}
		prev = hi
	}
	return out, nil
}

func interval(s string, completions int32) (int32, int32, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := index(lo, completions)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return first, first, nil
	}
	last, err := index(hi, completions)
	if err != nil {
		return 0, 0, err
	}
	if first >= last {
		return 0, 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", first, last)
	}
	return first, last, nil
}

func index(s string, completions int32) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("cannot convert string to integer for index: %q", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("negative index: %d", v)
	}
	if v >= int64(completions) {
		return 0, fmt.Errorf("too large index: %d", v)
	}
	return int32(v), nil
}

// Format writes indexes (any order, duplicates allowed) as the interval list.
func Format(indexes []int32) string {
	if len(indexes) == 0 {
		return ""
	}
	s := append([]int32(nil), indexes...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] <= s[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(s[i])))
		if s[j] != s[i] {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(s[j])))
		}
		i = j + 1
	}
	return b.String()
}
