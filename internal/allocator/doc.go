// Package allocator hands out unique values from a range — Service cluster
// IPs and node ports — with etcd as the arbiter, so several API servers on
// one etcd never give the same value twice. A value is taken by creating
// its key in a transaction that succeeds only if the key is absent.
//
// Safe for concurrent use; it starts no goroutines.
package allocator
