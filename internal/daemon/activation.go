package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/rs/zerolog"

	"github.com/qcc-dev/qcc/internal/config"
)

// sockets holds the listening sockets systemd passed to qccd (socket
// activation through qccd.socket), keyed by their FileDescriptorName=, which
// names the cluster that serves them. Because systemd keeps its own copy of
// each socket, connections made while qccd restarts wait in the socket's
// backlog instead of being refused. A cluster with no socket of its name
// binds its own.
type sockets struct {
	log    zerolog.Logger
	mu     sync.Mutex
	byName map[string][]net.Listener // not yet taken by a cluster
}

// inheritSockets takes the sockets systemd passed to this process, if any,
// and clears LISTEN_FDS and friends so that no child process misreads them.
// A passed descriptor that is not a listening socket is ignored.
func inheritSockets(log zerolog.Logger) *sockets {
	byName, err := activation.ListenersWithNames()
	if err != nil || byName == nil {
		byName = map[string][]net.Listener{}
	}
	return newSockets(log, byName)
}

func newSockets(log zerolog.Logger, byName map[string][]net.Listener) *sockets {
	return &sockets{log: log, byName: byName}
}

// listen returns the socket cluster c serves: the one systemd passed under
// c's name, or else one it binds itself on c.Listen. A passed socket on
// another address than c.Listen is an error rather than silently ignored:
// systemd would go on accepting connections there that nobody serves.
func (s *sockets) listen(c config.Cluster) (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	passed := s.byName[c.Name]
	if len(passed) == 0 {
		return bind(c.Listen)
	}
	for i, ln := range passed {
		if sameAddr(c.Listen, ln.Addr()) {
			s.byName[c.Name] = slices.Delete(passed, i, i+1)
			if len(s.byName[c.Name]) == 0 {
				delete(s.byName, c.Name)
			}
			s.log.Info().Str("cluster", c.Name).Str("listen", ln.Addr().String()).
				Msg("serving the socket systemd passed")
			return ln, nil
		}
	}
	return nil, fmt.Errorf("listen = %q, but systemd passed it a socket on %s (FileDescriptorName=%s); make the socket unit's ListenStream= and listen agree",
		c.Listen, addrList(passed), c.Name)
}

// warnUnused logs each passed socket that no cluster took. It stays open,
// so that a reload which adds its cluster can still take it.
func (s *sockets) warnUnused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.byName))
	for name := range s.byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.log.Warn().Str("fd_name", name).Str("listen", addrList(s.byName[name])).
			Msg("systemd passed a socket whose FileDescriptorName= names no cluster; it is not served")
	}
}

// sameAddr reports whether a socket bound at got is what a cluster's listen
// address asks for: the same port (any, for port 0) on the same host, an
// unspecified host matching any unspecified address (0.0.0.0 or ::). A host
// name is resolved.
func sameAddr(listen string, got net.Addr) bool {
	tcp, ok := got.(*net.TCPAddr)
	if !ok {
		return false
	}
	host, portText, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	port, err := strconv.Atoi(portText)
	if err != nil || (port != 0 && port != tcp.Port) {
		return false
	}
	have, ok := netip.AddrFromSlice(tcp.IP)
	if !ok {
		return false
	}
	have = have.Unmap()
	if host == "" {
		return have.IsUnspecified()
	}
	want, err := netip.ParseAddr(host)
	if err != nil {
		addrs, err := net.LookupHost(host)
		if err != nil {
			return false
		}
		for _, a := range addrs {
			if w, err := netip.ParseAddr(a); err == nil && w.Unmap() == have {
				return true
			}
		}
		return false
	}
	want = want.Unmap()
	if want.IsUnspecified() {
		return have.IsUnspecified()
	}
	return want == have
}

func addrList(lns []net.Listener) string {
	s := ""
	for i, ln := range lns {
		if i > 0 {
			s += ", "
		}
		s += ln.Addr().String()
	}
	return s
}
