package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"
)

// Options tells Parse where the environment of a config file is. The zero
// value means the running process's.
type Options struct {
	// LookupEnv resolves env: references, and $CREDENTIALS_DIRECTORY when
	// CredentialsDir is empty. Nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// CredentialsDir is where credential:NAME is read from. Empty means
	// $CREDENTIALS_DIRECTORY, which systemd sets for LoadCredential=.
	CredentialsDir string
	// FileMode is the file's permission bits, for the warning about literal
	// keys in a file other users can read. Zero means unknown: no warning.
	FileMode fs.FileMode
}

// Load reads, parses and validates the config file at path in the
// process's environment. A file that cannot be read yields the *fs.PathError,
// so errors.Is(err, fs.ErrNotExist) tells a missing file apart; a file with
// problems yields an *Error listing them all.
func Load(path string) (*Config, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with explicit Options. A zero FileMode is taken from the
// file.
func LoadWith(path string, opts Options) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Stat the open file so that the mode belongs to the bytes read, even if
	// an editor replaces the file meanwhile.
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("is a directory")}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if opts.FileMode == 0 {
		opts.FileMode = info.Mode().Perm()
	}
	return Parse(path, data, opts)
}

// Parse parses and validates data, the contents of file. file names the
// config in messages and anchors relative file: references. Every problem is
// reported at once in an *Error.
func Parse(file string, data []byte, opts Options) (*Config, error) {
	lookupEnv := opts.LookupEnv
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	credentialsDir := opts.CredentialsDir
	if credentialsDir == "" {
		credentialsDir, _ = lookupEnv("CREDENTIALS_DIRECTORY")
	}

	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, &Error{Problems: []Problem{syntaxProblem(file, data, err)}}
	}
	d := &decoder{
		file:  file,
		lines: indexLines(string(data)),
		secrets: resolver{
			lookupEnv:      lookupEnv,
			credentialsDir: credentialsDir,
			baseDir:        filepath.Dir(file),
		},
		mode: opts.FileMode,
	}
	cfg := d.config(tree)
	sortProblems(d.problems)
	sortProblems(d.warnings)
	if len(d.problems) > 0 {
		return nil, &Error{Problems: d.problems, Warnings: d.warnings}
	}

	sum := sha256.Sum256(data)
	cfg.Path = file
	cfg.Source = file
	cfg.SHA256 = hex.EncodeToString(sum[:])
	cfg.Warnings = d.warnings
	return cfg, nil
}

// syntaxProblem turns a toml error into a Problem at its line.
func syntaxProblem(file string, data []byte, err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		// The parser counts the newline it stopped at as the next line, so
		// an error at the end of line 3 ("[clusters.x" with no "]") came out
		// as line 4. The byte offset says where it really is.
		if start := pe.Position.Start; start > 0 && start <= len(data) {
			line = 1 + bytes.Count(data[:start], []byte("\n"))
		}
		return Problem{File: file, Line: line, Message: "TOML syntax: " + pe.Message}
	}
	return Problem{File: file, Message: fmt.Sprintf("TOML syntax: %v", err)}
}
