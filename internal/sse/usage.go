package sse

import "github.com/qcc-dev/qcc/internal/jsonscan"

// Usage is the token accounting of one message, as the API reports it.
type Usage struct {
	Input         int64 // input_tokens
	Output        int64 // output_tokens
	CacheRead     int64 // cache_read_input_tokens
	CacheCreation int64 // cache_creation_input_tokens
}

// Add returns the field-wise sum of u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{
		Input:         u.Input + o.Input,
		Output:        u.Output + o.Output,
		CacheRead:     u.CacheRead + o.CacheRead,
		CacheCreation: u.CacheCreation + o.CacheCreation,
	}
}

// IsZero reports whether u counts no tokens at all.
func (u Usage) IsZero() bool { return u == Usage{} }

// JSONUsage returns the usage of a non-streaming response body, a Message
// object. It returns false when the body is not JSON, is an error object, or
// carries no usage.
//
// Every reply passes through here, so the body is scanned, not decoded
// (see package jsonscan): five times cheaper than encoding/json and without
// allocation. On well-formed JSON the result is what decoding into
// {Type string; Usage *struct{...*int64}} gives, duplicates, nulls and
// case-insensitive names included; FuzzUsage holds it to that.
func JSONUsage(body []byte) (Usage, bool) {
	var (
		typ  []byte
		w    wireUsage
		has  bool // a usage member, the last one not null
		good = true
	)
	walked := jsonscan.Members(body, func(name, value []byte) {
		switch {
		case jsonscan.NameIs(name, "type", true):
			if jsonscan.IsNull(value) {
				return // null leaves a string as it was
			}
			var isString bool
			if typ, isString = jsonscan.String(value); !isString {
				good = false
			}
		case jsonscan.NameIs(name, "usage", true):
			if jsonscan.IsNull(value) {
				has = false // null resets a pointer
				return
			}
			if !has {
				w, has = wireUsage{}, true
			}
			good = w.decode(value) && good
		}
	})
	if !walked || !good || string(typ) == "error" || !has {
		return Usage{}, false
	}
	var u Usage
	w.mergeInto(&u)
	return u, true
}

// startUsage returns the usage a message_start payload carries, as decoding
// it into {Message struct{Usage struct{...*int64}}} would, and false where
// that decode would fail.
func startUsage(data []byte) (wireUsage, bool) {
	var w wireUsage
	if jsonscan.IsNull(data) {
		return w, true
	}
	good := true
	walked := jsonscan.Members(data, func(name, value []byte) {
		if !jsonscan.NameIs(name, "message", true) || jsonscan.IsNull(value) {
			return
		}
		good = w.decodeMember(value, "usage") && good
	})
	return w, walked && good
}

// deltaUsage is startUsage for a message_delta payload, whose usage is a
// top-level member.
func deltaUsage(data []byte) (wireUsage, bool) {
	var w wireUsage
	if jsonscan.IsNull(data) {
		return w, true
	}
	return w, w.decodeMember(data, "usage")
}

// decodeMember decodes the member name of the object obj, when present and
// not null, as decode does; null leaves a struct as it was.
func (w *wireUsage) decodeMember(obj []byte, name string) bool {
	good := true
	walked := jsonscan.Members(obj, func(n, value []byte) {
		if jsonscan.NameIs(n, name, true) && !jsonscan.IsNull(value) {
			good = w.decode(value) && good
		}
	})
	return walked && good
}

// wireUsage is what a usage object on the wire carried: message_delta omits
// the counts that did not change, and an absent count must not overwrite
// the one message_start reported.
type wireUsage struct {
	set [4]bool // input, output, cache read, cache creation
	val [4]int64
}

// decode merges the usage object raw into w, as encoding/json decodes into
// an existing struct of *int64 fields: a number sets a count and null
// unsets it. It reports false where encoding/json would fail the whole
// document: raw is not an object, or a count is not an integer.
func (w *wireUsage) decode(raw []byte) bool {
	good := true
	walked := jsonscan.Members(raw, func(name, value []byte) {
		i := usageIndex(name)
		switch {
		case i < 0:
		case jsonscan.IsNull(value):
			w.set[i] = false
		default:
			n, ok := jsonscan.Int64(value)
			if !ok {
				good = false
				return
			}
			w.set[i], w.val[i] = true, n
		}
	})
	return walked && good
}

// usageIndex returns the index in wireUsage of a usage member, or -1.
func usageIndex(name []byte) int {
	for i, n := range [...]string{"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"} {
		if jsonscan.NameIs(name, n, true) {
			return i
		}
	}
	return -1
}

// mergeInto overwrites the counts of u that the wire object carried.
func (w *wireUsage) mergeInto(u *Usage) {
	for i, dst := range [...]*int64{&u.Input, &u.Output, &u.CacheRead, &u.CacheCreation} {
		if w.set[i] {
			*dst = w.val[i]
		}
	}
}
