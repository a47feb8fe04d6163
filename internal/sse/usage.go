package sse

import "encoding/json"

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

// usageJSON is the wire form of a usage object. Its fields are pointers
// because message_delta omits the counts that did not change, and an absent
// count must not overwrite the one message_start reported.
type usageJSON struct {
	Input         *int64 `json:"input_tokens"`
	Output        *int64 `json:"output_tokens"`
	CacheRead     *int64 `json:"cache_read_input_tokens"`
	CacheCreation *int64 `json:"cache_creation_input_tokens"`
}

// mergeInto overwrites the counts of u that the wire object carries.
func (w *usageJSON) mergeInto(u *Usage) {
	set := func(dst *int64, src *int64) {
		if src != nil {
			*dst = *src
		}
	}
	set(&u.Input, w.Input)
	set(&u.Output, w.Output)
	set(&u.CacheRead, w.CacheRead)
	set(&u.CacheCreation, w.CacheCreation)
}

// JSONUsage returns the usage of a non-streaming response body, a Message
// object. It returns false when the body is not JSON, is an error object, or
// carries no usage.
func JSONUsage(body []byte) (Usage, bool) {
	var msg struct {
		Type  string     `json:"type"`
		Usage *usageJSON `json:"usage"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type == "error" || msg.Usage == nil {
		return Usage{}, false
	}
	var u Usage
	msg.Usage.mergeInto(&u)
	return u, true
}
