package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// IsLoopback reports whether a listen address (host:port, or a bare host)
// only accepts connections from this machine: 127.0.0.0/8, ::1 or
// "localhost". An empty host means every interface and is not loopback.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return false
	}
	return addr.WithZone("").Unmap().IsLoopback()
}

// checkListen reports whether addr can be listened on as TCP host:port.
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("is not host:port, as in \"127.0.0.1:7860\"")
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (port != "0" && n == 0) {
		return fmt.Errorf("has port %q, which is not a number from 0 to 65535", port)
	}
	return nil
}

// listener identifies a TCP listen address for collision checks.
type listener struct {
	host string // lower case; "" for every interface
	port string
}

// parseListener splits an address that checkListen accepted.
func parseListener(addr string) listener {
	host, port, _ := net.SplitHostPort(addr)
	host = strings.ToLower(host)
	if a, err := netip.ParseAddr(host); err == nil {
		if a.IsUnspecified() {
			host = ""
		} else {
			host = a.Unmap().String()
		}
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	return listener{host: host, port: strconv.FormatUint(n, 10)}
}

// collides reports whether l and o cannot both be bound: the same port on the
// same host, or on every interface. Port 0 asks the kernel for a free port
// and never collides.
func (l listener) collides(o listener) bool {
	if l.port != o.port || l.port == "0" {
		return false
	}
	return l.host == o.host || l.host == "" || o.host == ""
}
