package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSecretFileSize bounds what file: and credential: read, so that a
// reference to the wrong file (a log, a device) fails instead of filling
// memory.
const maxSecretFileSize = 64 << 10

// The prefixes a secret reference may start with; anything else is the
// secret itself.
const (
	refEnv        = "env:"
	refFile       = "file:"
	refCredential = "credential:"
	refLiteral    = "literal"
)

// resolver turns secret references from the config file into Secrets.
//
// Its errors name the reference and never the value: they end up in logs
// and in `qcc config check` output.
type resolver struct {
	lookupEnv func(string) (string, bool)
	// credentialsDir is $CREDENTIALS_DIRECTORY, "" when the service manager
	// set none.
	credentialsDir string
	// baseDir anchors relative file: paths at the config file's directory:
	// under systemd the working directory is /, which nobody means.
	baseDir string
}

// resolve returns the secret that ref stands for: the value of env:NAME,
// the contents of file:PATH or credential:NAME without one trailing newline,
// or ref itself. An empty result is an error, because every place that takes
// a secret needs one.
func (r resolver) resolve(ref string) (Secret, error) {
	switch {
	case strings.HasPrefix(ref, refEnv):
		name := strings.TrimPrefix(ref, refEnv)
		if name == "" {
			return Secret{}, errors.New("env: needs a variable name, as in env:ANTHROPIC_API_KEY")
		}
		v, ok := r.lookupEnv(name)
		switch {
		case !ok:
			return Secret{}, fmt.Errorf("%s is not set", ref)
		case v == "":
			return Secret{}, fmt.Errorf("%s is empty", ref)
		}
		return r.checked(ref, v)

	case strings.HasPrefix(ref, refFile):
		path := strings.TrimPrefix(ref, refFile)
		if path == "" {
			return Secret{}, errors.New("file: needs a path, as in file:/etc/qcc/anthropic.key")
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(r.baseDir, path)
		}
		return r.readFile(ref, path)

	case strings.HasPrefix(ref, refCredential):
		name := strings.TrimPrefix(ref, refCredential)
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
			return Secret{}, fmt.Errorf("%s: a credential name is a plain file name, as in credential:anthropic", ref)
		}
		if r.credentialsDir == "" {
			return Secret{}, fmt.Errorf("%s needs $CREDENTIALS_DIRECTORY, which systemd sets for units with LoadCredential=", ref)
		}
		return r.readFile(ref, filepath.Join(r.credentialsDir, name))

	default:
		if ref == "" {
			return Secret{}, errors.New("is empty")
		}
		return r.checked(refLiteral, ref)
	}
}

// readFile reads the secret in path for the reference ref.
func (r resolver) readFile(ref, path string) (Secret, error) {
	f, err := os.Open(path)
	if err != nil {
		return Secret{}, fileError(ref, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return Secret{}, fileError(ref, err)
	}
	if len(data) > maxSecretFileSize {
		return Secret{}, fmt.Errorf("%s is larger than %d KiB; it should hold one key", ref, maxSecretFileSize>>10)
	}
	// Editors end files with a newline; `echo KEY > file` too.
	v, ok := strings.CutSuffix(string(data), "\n")
	if ok {
		v = strings.TrimSuffix(v, "\r")
	}
	if v == "" {
		return Secret{}, fmt.Errorf("%s is empty", ref)
	}
	return r.checked(ref, v)
}

// checked rejects values that cannot travel in an HTTP header: a second line
// in a key file would otherwise become a header injection.
func (r resolver) checked(ref, v string) (Secret, error) {
	if strings.ContainsAny(v, "\r\n\x00") {
		what := ref
		if ref == refLiteral {
			what = "the value"
		}
		return Secret{}, fmt.Errorf("%s holds a line break or NUL; a key is a single line", what)
	}
	return NewSecret(ref, v), nil
}

// fileError describes a failure to read a secret file by its reference and
// the operating system's reason, which never includes file contents.
func fileError(ref string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s does not exist", ref)
	}
	return fmt.Errorf("%s cannot be read: %v", ref, err)
}
