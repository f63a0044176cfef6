// Package memtrim gives back, once start-up is over, the memory that only
// start-up used: the pages of the petset binary that the package inits, the
// API server's route and OpenAPI building and the first informer syncs
// touched (MADV_PAGEOUT on the executable's read-only mappings: the kernel
// drops them and faults back in only what runs afterwards), and the heap
// the start-up garbage grew (debug.FreeOSMemory).
//
// Measured on `petset up` (docs/bench/REPORT.md, "Session 10: memory"):
// 10 s after /readyz, 89 MiB of the binary were resident, of which ≈45 MiB
// were faulted back within seconds after a page-out; the rest is code and
// data only start-up runs. Nothing changes in behaviour: a paged-out page
// that is needed again is read back from the file.
package memtrim
