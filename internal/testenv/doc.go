// Package testenv holds what the tests of several packages share about the
// machine they run on: whether they run in CI, where a test that cannot run
// here must fail instead of skipping, and the root check of the tests that
// need it. It is imported only by _test.go files.
package testenv
