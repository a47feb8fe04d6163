package sockio

import (
	"io"
	"net"
	"testing"
)

// BenchmarkRoundTrip is a 64-byte ping-pong over loopback with both ends in
// this process, through package net and through Conn: the raw calls must
// cost no more than net's. (Here the two ends keep the process busy, so
// sysmon stays awake and the saving that motivates the package does not
// show; it shows in qccbench's CPU per request, docs/performance.md.)
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
