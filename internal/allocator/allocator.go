package allocator

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrAllocated means the requested value is already taken.
var ErrAllocated = errors.New("already allocated")

// ErrFull means every value of the range is taken.
var ErrFull = errors.New("range is full")

// ErrOutOfRange means the requested value is not in the range.
var ErrOutOfRange = errors.New("not in the valid range")

// Range is a set of values addressed by offset.
type Range interface {
	Size() int
	Value(offset int) string
	Offset(value string) (int, bool)
}

// Allocator allocates values of one Range.
type Allocator struct {
	client   *clientv3.Client
	prefix   string
	r        Range
	reserved map[int]bool
}

// New returns an allocator storing its keys under prefix. Offsets in
// reserved are never handed out by Allocate("").
func New(client *clientv3.Client, prefix string, r Range, reserved ...int) *Allocator {
	res := map[int]bool{}
	for _, o := range reserved {
		res[o] = true
	}
	return &Allocator{client: client, prefix: prefix, r: r, reserved: res}
}

// Allocate takes value for owner, or any free value when value is "".
func (a *Allocator) Allocate(ctx context.Context, value, owner string) (string, error) {
	if value != "" {
		if _, ok := a.r.Offset(value); !ok {
			return "", fmt.Errorf("%s: %w", value, ErrOutOfRange)
		}
		ok, err := a.take(ctx, value, owner)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("%s: %w", value, ErrAllocated)
		}
		return value, nil
	}
	size := a.r.Size()
	start := rand.IntN(size)
	for i := 0; i < size; i++ {
		off := (start + i) % size
		if a.reserved[off] {
			continue
		}
		v := a.r.Value(off)
		ok, err := a.take(ctx, v, owner)
		if err != nil {
			return "", err
		}
		if ok {
			return v, nil
		}
	}
	return "", ErrFull
}

func (a *Allocator) take(ctx context.Context, value, owner string) (bool, error) {
	key := a.prefix + value
	resp, err := a.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Commit()
	if err != nil {
		return false, fmt.Errorf("allocate %s: %w", value, err)
	}
	return resp.Succeeded, nil
}

// Release frees value. Releasing a free value is not an error.
func (a *Allocator) Release(ctx context.Context, value string) error {
	if _, err := a.client.Delete(ctx, a.prefix+value); err != nil {
		return fmt.Errorf("release %s: %w", value, err)
	}
	return nil
}

// IPRange is the addresses of an IPv4 CIDR, without the network address.
type IPRange struct {
	base *big.Int
	size int
}

// NewIPRange parses an IPv4 CIDR such as 10.96.0.0/12.
func NewIPRange(cidr string) (*IPRange, error) {
	ip, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", cidr, err)
	}
	if ip.To4() == nil {
		return nil, fmt.Errorf("%q is not an IPv4 range", cidr)
	}
	ones, bits := n.Mask.Size()
	size := (1 << (bits - ones)) - 2 // no network, no broadcast address
	if size < 1 {
		return nil, fmt.Errorf("%q is too small", cidr)
	}
	return &IPRange{base: new(big.Int).SetBytes(n.IP.To4()), size: size}, nil
}

func (r *IPRange) Size() int { return r.size }

// Value of offset 0 is the first address after the network address.
func (r *IPRange) Value(offset int) string {
	v := new(big.Int).Add(r.base, big.NewInt(int64(offset+1)))
	b := v.FillBytes(make([]byte, 4))
	return net.IP(b).String()
}

func (r *IPRange) Offset(value string) (int, bool) {
	ip := net.ParseIP(value).To4()
	if ip == nil {
		return 0, false
	}
	off := new(big.Int).Sub(new(big.Int).SetBytes(ip), r.base).Int64() - 1
	if off < 0 || off >= int64(r.size) {
		return 0, false
	}
	return int(off), true
}

// PortRange is an inclusive range of ports.
type PortRange struct{ Min, Max int }

func (r PortRange) Size() int               { return r.Max - r.Min + 1 }
func (r PortRange) Value(offset int) string { return strconv.Itoa(r.Min + offset) }
func (r PortRange) Offset(value string) (int, bool) {
	p, err := strconv.Atoi(value)
	if err != nil || p < r.Min || p > r.Max {
		return 0, false
	}
	return p - r.Min, true
}
