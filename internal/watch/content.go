package watch

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"

	"github.com/rs/zerolog"
)

// content remembers what the file held when it was last acted on, so that
// a hint or a poll that finds the same bytes does nothing, and a broken
// file is offered to Apply (and so logged) once, not on every poll.
type content struct {
	path    string
	current func() string // Options.Current
	log     zerolog.Logger

	last    string // hex SHA-256 of the content last acted on; "" for none
	missing bool   // the file was absent at the last check
	readErr string // the read error last logged, so that it is logged once
}

// check reads the file and calls apply if its content is new.
//
// A missing file is not a change: editors and ConfigMap swaps make the file
// vanish for a moment, and a daemon that fell back to its embedded default
// whenever that happened would drop its real config. The running config
// stays until a file is back; SIGHUP or qcc reload still act on the absence
// if that is what the operator wants.
func (c *content) check(apply func(string, []byte) error, trigger string) {
	data, err := os.ReadFile(c.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !c.missing {
			c.log.Info().Str("config", c.path).Msg("config file is gone; keeping the running config until it is back")
			c.missing = true
		}
		return
	case err != nil:
		if msg := err.Error(); msg != c.readErr {
			c.log.Warn().Err(err).Msg("cannot read the config file; keeping the running config")
			c.readErr = msg
		}
		return
	}
	c.missing, c.readErr = false, ""

	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if digest == c.last {
		return
	}
	if digest == c.current() {
		// Running already: from the start, or a SIGHUP applied it first.
		c.last = digest
		return
	}
	// Record the content before applying it: whatever Apply makes of these
	// bytes, it has been told about them, and a rejection is not news the
	// next time round.
	c.last = digest
	if err := apply(trigger, data); err != nil {
		c.log.Debug().Err(err).Str("sha256", digest).Msg("config change not applied; waiting for the file to change again")
	}
}
