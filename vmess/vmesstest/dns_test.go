package vmesstest

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
)

// TestStartDNS: the server's addresses come back for any name, and a
// server without addresses makes every name "no such host".
func TestStartDNS(t *testing.T) {
	t.Parallel()
	s := StartDNS(t, [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2})
	addrs, err := s.Resolver().LookupHost(context.Background(), "anything.example")
	slices.Sort(addrs)
	if err != nil || !slices.Equal(addrs, []string{"192.0.2.1", "192.0.2.2"}) || s.Answered.Load() == 0 {
		t.Fatalf("lookup: %v, %v, %d answered", addrs, err, s.Answered.Load())
	}
	_, err = StartDNS(t).Resolver().LookupHost(context.Background(), "anything.example")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound {
		t.Fatalf("empty server: %v", err)
	}
}
