package watch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fsnotify/fsnotify"
)

// watchDirs returns the directories whose events may mean that path's
// content changed: its own directory, where editors rename and Kubernetes
// swaps its ..data link; and, when path is a symlink to a file elsewhere,
// the directory of that file, where edits of the target happen. A target
// below path's directory is left out: such layouts (the ConfigMap one)
// change by a swap in path's directory, and the target's directory is
// deleted after every swap.
func watchDirs(path string) []string {
	dir := filepath.Dir(path)
	dirs := []string{dir}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return dirs
	}
	base := dir
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		base = real
	}
	if td := filepath.Dir(target); !within(td, base) && !within(td, dir) {
		dirs = append(dirs, td)
	}
	return dirs
}

// within reports whether dir is base or below it.
func within(dir, base string) bool {
	return dir == base || strings.HasPrefix(dir, base+string(filepath.Separator))
}

// watchSet is one fsnotify watcher on a set of directories, with the
// identity each directory had when it was added, so that a directory
// replaced behind the watch's back can be told apart.
type watchSet struct {
	fw   *fsnotify.Watcher
	dirs []string
	ids  []os.FileInfo
}

// openWatchSet watches every directory in dirs, or none.
func openWatchSet(dirs []string) (*watchSet, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	s := &watchSet{fw: fw, dirs: dirs}
	for _, d := range dirs {
		// Stat before adding: if the directory is swapped in between, the
		// identity is the old one and the next poll notices.
		id, err := os.Stat(d)
		if err == nil {
			err = fw.Add(d)
		}
		if err != nil {
			fw.Close()
			return nil, err
		}
		s.ids = append(s.ids, id)
	}
	return s, nil
}

// close stops the watch; a nil set is already closed.
func (s *watchSet) close() {
	if s != nil {
		s.fw.Close()
	}
}

// events returns the event channel, nil (blocking forever) for a nil set.
func (s *watchSet) events() <-chan fsnotify.Event {
	if s == nil {
		return nil
	}
	return s.fw.Events
}

// errors returns the error channel, nil (blocking forever) for a nil set.
func (s *watchSet) errors() <-chan error {
	if s == nil {
		return nil
	}
	return s.fw.Errors
}

// lost reports whether ev removed or renamed one of the watched directories
// itself, which ends its watch.
func (s *watchSet) lost(ev fsnotify.Event) bool {
	return (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) && slices.Contains(s.dirs, ev.Name)
}

// current reports whether the set still watches exactly dirs, each still
// the directory it was when added.
func (s *watchSet) current(dirs []string) bool {
	if !slices.Equal(s.dirs, dirs) {
		return false
	}
	for i, d := range s.dirs {
		id, err := os.Stat(d)
		if err != nil || !os.SameFile(id, s.ids[i]) {
			return false
		}
	}
	return true
}
