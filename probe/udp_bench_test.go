package probe

import (
	"fmt"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// BenchmarkDNSAnswers checks replies of doubling size (more answer
// records behind the question): dnsAnswers reads the header and the first
// question only, so its cost must not grow with the reply.
func BenchmarkDNSAnswers(b *testing.B) {
	const id, name = 0x1234, "www.example.com"
	for _, answers := range []int{8, 16, 32, 64, 128, 256} {
		reply := dnsReply(b, id, name, answers)
		b.Run(fmt.Sprintf("%dB", len(reply)), func(b *testing.B) {
			b.SetBytes(int64(len(reply)))
			b.ReportAllocs()
			for b.Loop() {
				if err := dnsAnswers(reply, id, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// dnsReply is a response to the A query for name with n answers.
func dnsReply(tb testing.TB, id uint16, name string, n int) []byte {
	tb.Helper()
	nm := dnsmessage.MustNewName(name + ".")
	bld := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, Response: true, RecursionDesired: true, RecursionAvailable: true})
	bld.EnableCompression()
	if err := bld.StartQuestions(); err != nil {
		tb.Fatal(err)
	}
	if err := bld.Question(dnsmessage.Question{Name: nm, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}); err != nil {
		tb.Fatal(err)
	}
	if err := bld.StartAnswers(); err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		h := dnsmessage.ResourceHeader{Name: nm, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60}
		if err := bld.AResource(h, dnsmessage.AResource{A: [4]byte{192, 0, 2, byte(i)}}); err != nil {
			tb.Fatal(err)
		}
	}
	out, err := bld.Finish()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
