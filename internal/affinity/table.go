// Package affinity keeps a conversation on one endpoint, so that the
// upstream's prompt cache keeps hitting.
package affinity

import (
	"container/list"
	"hash/maphash"
	"sync"
	"time"
)

// Table maps session keys to endpoint identities. It is bounded twice: an
// entry expires TTL after its last use, and past MaxKeys the least recently
// used entry goes. Keys are stored as hashes, so the table holds no client
// text and its size per entry is fixed.
//
// Identities (not endpoint pointers) are stored so that a table survives a
// reload that keeps the endpoint.
type Table struct {
	ttl     time.Duration
	maxKeys int
	seed    maphash.Seed

	mu    sync.Mutex
	byKey map[uint64]*list.Element
	lru   list.List // front = most recently used; values are *entry
}

type entry struct {
	key      uint64
	identity string
	expires  time.Time
}

// NewTable returns an empty table.
func NewTable(ttl time.Duration, maxKeys int) *Table {
	return &Table{ttl: ttl, maxKeys: max(maxKeys, 1), seed: maphash.MakeSeed(), byKey: map[uint64]*list.Element{}}
}

// Hash turns a session key into the table's key.
func (t *Table) Hash(key []byte) uint64 { return maphash.Bytes(t.seed, key) }

// Get returns the endpoint identity the session is bound to, if the binding
// is still live, and refreshes it.
func (t *Table) Get(now time.Time, key uint64) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.byKey[key]
	if !ok {
		return "", false
	}
	e := el.Value.(*entry)
	if now.After(e.expires) {
		t.remove(el)
		return "", false
	}
	e.expires = now.Add(t.ttl)
	t.lru.MoveToFront(el)
	return e.identity, true
}

// Set binds the session to an endpoint identity.
func (t *Table) Set(now time.Time, key uint64, identity string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.byKey[key]; ok {
		e := el.Value.(*entry)
		e.identity, e.expires = identity, now.Add(t.ttl)
		t.lru.MoveToFront(el)
		return
	}
	t.byKey[key] = t.lru.PushFront(&entry{key: key, identity: identity, expires: now.Add(t.ttl)})
	for t.lru.Len() > t.maxKeys {
		t.remove(t.lru.Back())
	}
	// Drop expired entries from the cold end while we hold the lock, so an
	// idle table shrinks without a janitor goroutine.
	for i := 0; i < 2; i++ {
		el := t.lru.Back()
		if el == nil || !now.After(el.Value.(*entry).expires) {
			break
		}
		t.remove(el)
	}
}

// Len returns the number of bindings, live or not yet swept.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lru.Len()
}

// Resize changes the bounds, as a reload may; extra entries go at once.
func (t *Table) Resize(ttl time.Duration, maxKeys int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ttl, t.maxKeys = ttl, max(maxKeys, 1)
	for t.lru.Len() > t.maxKeys {
		t.remove(t.lru.Back())
	}
}

func (t *Table) remove(el *list.Element) {
	delete(t.byKey, el.Value.(*entry).key)
	t.lru.Remove(el)
}
