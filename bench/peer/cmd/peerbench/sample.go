package main

import (
	"sync"
	"time"

	"petset/test/bench/workload"
)

// usage is one process's CPU seconds over a span and its peak RSS in it.
type usage struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	PeakRSSMiB float64 `json:"peakRSSMiB"`
	IdleRSSMiB float64 `json:"idleRSSMiB"`
}

// sampler follows the CPU time and RSS of a cluster's processes every
// 200 ms from start until stop.
type sampler struct {
	procs []*proc
	cpu0  []float64
	idle  []float64
	mu    sync.Mutex
	peak  []float64
	stopc chan struct{}
	wg    sync.WaitGroup
}

func startSampler(procs []*proc) *sampler {
	s := &sampler{procs: procs, cpu0: make([]float64, len(procs)), idle: make([]float64, len(procs)),
		peak: make([]float64, len(procs)), stopc: make(chan struct{})}
	for i, p := range procs {
		s.cpu0[i], _ = workload.CPUSeconds(p.pid())
		s.idle[i] = workload.MemoryOf(p.pid()).RSSMiB()
		s.peak[i] = s.idle[i]
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-s.stopc:
				return
			case <-time.After(200 * time.Millisecond):
			}
			s.sample()
		}
	}()
	return s
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.procs {
		if m := workload.MemoryOf(p.pid()).RSSMiB(); m > s.peak[i] {
			s.peak[i] = m
		}
	}
}

// stop ends sampling and returns each process's usage by name.
func (s *sampler) stop() map[string]usage {
	close(s.stopc)
	s.wg.Wait()
	s.sample()
	out := map[string]usage{}
	for i, p := range s.procs {
		cpu, _ := workload.CPUSeconds(p.pid())
		out[p.name] = usage{CPUSeconds: cpu - s.cpu0[i], PeakRSSMiB: s.peak[i], IdleRSSMiB: s.idle[i]}
	}
	return out
}
