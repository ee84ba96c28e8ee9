//go:build !linux

package probetest

import (
	"errors"
	"testing"
)

// DeadHost is a loopback address whose TCP SYNs go unanswered. It is built
// from Linux's accept-queue behaviour and exists only there.
type DeadHost struct {
	Addr string
	Host string
	Port int
}

// StartDeadHost fails the test: dead hosts need Linux.
func StartDeadHost(tb testing.TB) *DeadHost {
	tb.Helper()
	tb.Fatalf("probetest: a dead host needs Linux (a full accept queue that drops SYNs)")
	return nil
}

// NewDeadHost fails: dead hosts need Linux.
func NewDeadHost() (*DeadHost, error) {
	return nil, errors.New("probetest: a dead host needs Linux")
}

// Close does nothing.
func (d *DeadHost) Close() error { return nil }

// RefusedPort is a loopback port that refuses connections; it exists only
// on Linux here.
type RefusedPort struct {
	Addr string
	Host string
	Port int
}

// StartRefusedPort fails the test: refused ports need Linux here.
func StartRefusedPort(tb testing.TB) *RefusedPort {
	tb.Helper()
	tb.Fatalf("probetest: a reserved refusing port is built on Linux")
	return nil
}

// NewRefusedPort fails: refused ports need Linux here.
func NewRefusedPort() (*RefusedPort, error) {
	return nil, errors.New("probetest: a reserved refusing port needs Linux")
}

// Close does nothing.
func (r *RefusedPort) Close() error { return nil }
