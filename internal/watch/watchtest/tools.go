// Package watchtest writes config files the way real tools do, for tests
// of the config watcher and of the daemon's reload.
package watchtest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Gap is how long a tool leaves the file (or its directory) missing in the
// middle of a write: longer than the watcher's default debounce, so that the
// watcher really sees the gap instead of sleeping through it.
const Gap = 300 * time.Millisecond

// FileName is the config file's name in every layout.
const FileName = "clusters.toml"

// A Tool writes a config file the way one real program does.
type Tool struct {
	Name string
	// Setup lays out the file with data under dir and returns the path the
	// daemon is to be given.
	Setup func(t testing.TB, dir string, data []byte) string
	// Write replaces the content of the file at path with data; when it
	// returns, the new content is in place.
	Write func(t testing.TB, path string, data []byte)
}

// Tools returns every way of writing the file that the watcher must handle.
func Tools() []Tool {
	plain := func(t testing.TB, dir string, data []byte) string {
		t.Helper()
		path := filepath.Join(dir, FileName)
		write(t, path, data)
		return path
	}
	return []Tool{
		{Name: "editor temp file and rename", Setup: plain, Write: RenameOver},
		{Name: "in-place truncate and write", Setup: plain, Write: TruncateWrite},
		{Name: "vim backup and rename", Setup: plain, Write: VimBackup},
		{Name: "ConfigMap symlink swap", Setup: ConfigMapSetup, Write: ConfigMapSwap},
		{Name: "deleted then recreated", Setup: plain, Write: DeleteRecreate},
		{Name: "directory briefly missing", Setup: plain, Write: DirAway},
		{Name: "directory removed and recreated", Setup: plain, Write: DirReplaced},
	}
}

// RenameOver writes a temporary file beside path and renames it over path,
// as most editors and config management tools do.
func RenameOver(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	write(t, tmp, data)
	must(t, os.Rename(tmp, path))
}

// TruncateWrite truncates path and writes data into the same inode in two
// pieces, as a shell redirection or an editor without backups does.
func TruncateWrite(t testing.TB, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	must(t, err)
	half := len(data) / 2
	_, err = f.Write(data[:half])
	must(t, err)
	_, err = f.Write(data[half:])
	must(t, err)
	must(t, f.Close())
}

// VimBackup does what vim does with 'backupcopy' off: it probes the
// directory with a file named 4913, renames the original to path~, writes a
// new file at path and deletes the backup.
func VimBackup(t testing.TB, path string, data []byte) {
	t.Helper()
	probe := filepath.Join(filepath.Dir(path), "4913")
	write(t, probe, nil)
	must(t, os.Remove(probe))
	must(t, os.Rename(path, path+"~"))
	write(t, path, data)
	must(t, os.Remove(path+"~"))
}

// ConfigMapSetup lays out dir as the kubelet mounts a ConfigMap:
// dir/..TIMESTAMP/clusters.toml, dir/..data -> ..TIMESTAMP and
// dir/clusters.toml -> ..data/clusters.toml.
func ConfigMapSetup(t testing.TB, dir string, data []byte) string {
	t.Helper()
	ts := newConfigMapDir(t, dir, data)
	must(t, os.Symlink(ts, filepath.Join(dir, "..data")))
	path := filepath.Join(dir, FileName)
	must(t, os.Symlink(filepath.Join("..data", FileName), path))
	return path
}

// ConfigMapSwap updates a ConfigMap mount as the kubelet does: a new
// timestamped directory, a new symlink renamed atomically over ..data, and
// the old directory removed.
func ConfigMapSwap(t testing.TB, path string, data []byte) {
	t.Helper()
	dir := filepath.Dir(path)
	link := filepath.Join(dir, "..data")
	old, err := os.Readlink(link)
	must(t, err)
	ts := newConfigMapDir(t, dir, data)
	tmp := filepath.Join(dir, "..data_tmp")
	must(t, os.Symlink(ts, tmp))
	must(t, os.Rename(tmp, link))
	must(t, os.RemoveAll(filepath.Join(dir, old)))
}

func newConfigMapDir(t testing.TB, dir string, data []byte) string {
	t.Helper()
	name := ".." + time.Now().UTC().Format("2006_01_02_15_04_05.000000000")
	must(t, os.Mkdir(filepath.Join(dir, name), 0o755))
	write(t, filepath.Join(dir, name, FileName), data)
	return name
}

// DeleteRecreate removes path and, after Gap, writes it anew.
func DeleteRecreate(t testing.TB, path string, data []byte) {
	t.Helper()
	must(t, os.Remove(path))
	time.Sleep(Gap)
	write(t, path, data)
}

// DirAway renames path's directory away, writes the new content there
// while it is away, and after Gap renames it back.
func DirAway(t testing.TB, path string, data []byte) {
	t.Helper()
	dir := filepath.Dir(path)
	away := dir + ".away"
	must(t, os.Rename(dir, away))
	write(t, filepath.Join(away, filepath.Base(path)), data)
	time.Sleep(Gap)
	must(t, os.Rename(away, dir))
}

// DirReplaced removes path's directory with everything in it and, after
// Gap, creates a new directory with the new file.
func DirReplaced(t testing.TB, path string, data []byte) {
	t.Helper()
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	must(t, err)
	must(t, os.RemoveAll(dir))
	time.Sleep(Gap)
	must(t, os.Mkdir(dir, info.Mode().Perm()))
	write(t, path, data)
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	must(t, os.WriteFile(path, data, 0o600))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("watchtest: %w", err))
	}
}
