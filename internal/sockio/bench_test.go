package sockio

import (
	"io"
	"net"
	"testing"
)

// BenchmarkRoundTrip is a 64-byte ping-pong over loopback with both ends in
// this process, through package net and through Conn. Between the hops the
// process is idle, as a proxy at concurrency 1 is, so that package net's
// calls wake sysmon each time; compare the two with benchstat, and the
// threads' CPU with `perf stat` or `-cpu 1,2`.
func BenchmarkRoundTrip(b *testing.B) {
	for _, wrap := range []bool{false, true} {
		name := "net"
		if wrap {
			name = "sockio"
		}
		b.Run(name, func(b *testing.B) {
			c, peer := pair(b)
			var client, server net.Conn = c.TCP(), peer
			if wrap {
				client, server = c, Wrap(peer)
			}
			go func() {
				buf := make([]byte, 64)
				for {
					if _, err := io.ReadFull(server, buf); err != nil {
						return
					}
					if _, err := server.Write(buf); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 64)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(client, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
