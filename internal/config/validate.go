package config

import (
	"fmt"
	"strconv"
)

// This file holds the checks that relate settings to each other, within a
// cluster or across clusters.

// checkCluster checks the rules that span a cluster's settings and its
// endpoints.
func (d *decoder) checkCluster(t *table, c *Cluster) {
	// Count the tokens written rather than those resolved: one that failed
	// to resolve is reported already and still shows the intent.
	tokens, _ := t.m["client_tokens"].([]any)
	hasTokens := len(tokens) > 0

	_, listenIsString := t.m["listen"].(string)
	switch {
	case !t.has("listen"):
		t.errorf("", "listen is required, as in listen = \"127.0.0.1:7860\"")
	case !listenIsString:
		// reported as a type mismatch already
	case c.Listen == "":
		t.errorf("listen", "listen is empty; set it to host:port, as in \"127.0.0.1:7860\"")
	default:
		if err := checkListen(c.Listen); err != nil {
			t.errorf("listen", "listen %q %v", c.Listen, err)
		} else if !IsLoopback(c.Listen) && !hasTokens {
			t.errorf("listen", "listen %q is reachable from other hosts; set client_tokens or listen on a loopback address", c.Listen)
		}
	}

	if !t.has("endpoints") {
		t.errorf("", "no endpoints: add at least one [[clusters.%s.endpoints]]", tomlKey(c.Name))
	} else if len(c.Endpoints) == 0 {
		t.errorf("endpoints", "endpoints is empty: add at least one endpoint")
	}

	first := map[string]int{} // endpoint name -> line of its first use
	endpoints := t.path.key("endpoints")
	for i, ep := range c.Endpoints {
		if ep.Name != "" {
			if line, dup := first[ep.Name]; dup {
				d.problemf(ep.Line, "endpoint %s/%s: duplicate name; line %d has the first", c.Name, ep.Name, line)
			} else {
				first[ep.Name] = ep.Line
			}
		}
		if ep.Auth == AuthPassthrough && hasTokens {
			d.problemf(d.lineOf(endpoints.index(i).key("auth"), ep.Line),
				"endpoint %s: auth = %q would forward the client's qcc token upstream, because cluster %s has client_tokens; give the endpoint an api_key",
				endpointName(c.Name, i, ep), ep.Auth, c.Name)
		}
	}
}

// endpointName names an endpoint in messages, by position if it has no name.
func endpointName(cluster string, i int, ep Endpoint) string {
	if ep.Name == "" {
		return fmt.Sprintf("%s#%d", cluster, i+1)
	}
	return cluster + "/" + ep.Name
}

// checkListeners reports listen addresses that cannot all be bound at once:
// the daemon would fail at start, or worse, on a reload.
func (d *decoder) checkListeners(cfg *Config) {
	type bound struct {
		what string
		line int
		l    listener
	}
	var seen []bound
	add := func(what, addr string, line int) {
		if checkListen(addr) != nil {
			return // reported already
		}
		l := parseListener(addr)
		for _, b := range seen {
			if l.collides(b.l) {
				d.problemf(line, "%s: listen %q collides with %s on line %d", what, addr, b.what, b.line)
				return
			}
		}
		seen = append(seen, bound{what, line, l})
	}
	clusters := keyPath("").key("clusters")
	if a := cfg.Daemon.AdminListen; a != "" {
		add("[daemon] admin_listen", a, d.lineOf(keyPath("").key("daemon").key("admin_listen"), 0))
	}
	for _, c := range cfg.Clusters {
		if c.Listen != "" {
			add("cluster "+c.Name, c.Listen, d.lineOf(clusters.key(c.Name).key("listen"), c.Line))
		}
	}
}

// tomlKey writes name as a TOML key, quoted unless it is a bare key.
func tomlKey(name string) string {
	for _, c := range []byte(name) {
		if !isBareKeyChar(c) {
			return strconv.Quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}
