// Package apptest holds what the example apps' unit tests share: an HTTP
// call that fails the test only when the request cannot be made, a fixed
// SRV table in place of cluster DNS, and a log buffer a test can wait on
// for a line. It is used only from the examples' tests.
package apptest
