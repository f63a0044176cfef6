// Package testenv holds what the tests of several packages share about the
// machine they run on: whether they run in CI, where a test that cannot run
// here must fail instead of skipping, the root check of the tests that need
// it, and the seed of randomized tests (PETSET_TEST_SEED replays one). It is
// imported only by _test.go files.
package testenv
