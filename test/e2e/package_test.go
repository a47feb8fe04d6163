//go:build linux

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoRoot is the repository, seen from this package's directory.
const repoRoot = "../.."

// The versions of the two packages the tests build: the second is an
// upgrade of the first.
const (
	versionOld = "1.0.0~e2e.1"
	versionNew = "1.0.0~e2e.2"
)

// built holds the packages `make package` made, once per test binary.
var built struct {
	once     sync.Once
	dir      string
	deb, rpm map[string]string // version → path
	err      error
	log      string
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{built.dir, binaries.dir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// packages returns the .deb and .rpm of versionOld and versionNew, built
// by `make package` as a release would be. The first call builds them; it
// takes a minute or two the first time nfpm itself is compiled.
func packages(t *testing.T) (deb, rpm map[string]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the packages; skipped with -short")
	}
	built.once.Do(func() {
		built.deb, built.rpm = map[string]string{}, map[string]string{}
		built.dir, built.err = os.MkdirTemp("", "qcc-e2e-packages-")
		if built.err != nil {
			return
		}
		var log bytes.Buffer
		defer func() { built.log = log.String() }()
		for _, v := range []string{versionOld, versionNew} {
			dist := filepath.Join(built.dir, v)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			cmd := exec.CommandContext(ctx, "make", "-C", repoRoot, "package", "DIST="+dist, "PKG_VERSION="+v)
			cmd.Stdout, cmd.Stderr = &log, &log
			built.err = cmd.Run()
			cancel()
			if built.err != nil {
				return
			}
			debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
			rpms, _ := filepath.Glob(filepath.Join(dist, "*.rpm"))
			if len(debs) != 1 || len(rpms) != 1 {
				built.err = os.ErrNotExist
				return
			}
			built.deb[v], built.rpm[v] = debs[0], rpms[0]
		}
	})
	if built.err != nil {
		t.Fatalf("make package: %v\n%s", built.err, built.log)
	}
	return built.deb, built.rpm
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// wantEntry is a file a package must hold, with its mode and owner as
// `dpkg-deb -c` prints them.
type wantEntry struct {
	path, perm, owner string
}

var wantFiles = []wantEntry{
	{"/usr/bin/qccd", "-rwxr-xr-x", "root/root"},
	{"/usr/bin/qcc", "-rwxr-xr-x", "root/root"},
	{"/usr/lib/systemd/system/qccd.service", "-rw-r--r--", "root/root"},
	{"/usr/lib/systemd/system/qccd.socket", "-rw-r--r--", "root/root"},
	{"/usr/lib/sysusers.d/qcc.conf", "-rw-r--r--", "root/root"},
	{"/etc/qcc/", "drwxr-x---", "root/qcc"},
	{"/etc/qcc/clusters.toml", "-rw-r-----", "root/qcc"},
	{"/usr/share/man/man8/qccd.8.gz", "-rw-r--r--", "root/root"},
	{"/usr/share/man/man1/qcc.1.gz", "-rw-r--r--", "root/root"},
	{"/usr/share/qcc/systemd/notify-reload.conf", "-rw-r--r--", "root/root"},
	{"/usr/share/doc/qcc/copyright", "-rw-r--r--", "root/root"},
}

func TestDebContents(t *testing.T) {
	deb, _ := packages(t)
	path := deb[versionOld]
	listing := output(t, "dpkg-deb", "-c", path)
	t.Logf("dpkg-deb -c %s:\n%s", filepath.Base(path), listing)
	for _, w := range wantFiles {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w.perm) + `\s+` + regexp.QuoteMeta(w.owner) + `\s+\d+ \S+ \S+ \.` + regexp.QuoteMeta(w.path) + `$`)
		if !re.MatchString(listing) {
			t.Errorf("the .deb lacks %s %s %s", w.perm, w.owner, w.path)
		}
	}

	if got := output(t, "dpkg-deb", "-f", path, "Package", "Version", "Architecture"); !strings.Contains(got, "Version: "+versionOld+"-1") {
		t.Errorf("control fields:\n%s", got)
	}
	ctl := t.TempDir()
	output(t, "dpkg-deb", "-e", path, ctl)
	conffiles, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(conffiles)) != "/etc/qcc/clusters.toml" {
		t.Errorf("conffiles = %q, want only /etc/qcc/clusters.toml", conffiles)
	}
	for _, s := range []string{"preinst", "postinst", "prerm", "postrm"} {
		if st, err := os.Stat(filepath.Join(ctl, s)); err != nil || st.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s missing or not executable: %v", s, err)
		}
	}
}

func TestRPMContents(t *testing.T) {
	_, rpm := packages(t)
	if _, err := exec.LookPath("rpm"); err != nil {
		t.Skip("needs rpm to read the package (apt-get install rpm)")
	}
	path := rpm[versionOld]
	listing := output(t, "rpm", "-qlpv", path)
	t.Logf("rpm -qlpv %s:\n%s", filepath.Base(path), listing)
	for _, w := range wantFiles {
		owner := strings.Replace(w.owner, "/", `\s+`, 1)
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w.perm) + `\s+\d+\s+` + owner + `\s+.*\s` + regexp.QuoteMeta(strings.TrimSuffix(w.path, "/")) + `$`)
		if !re.MatchString(listing) {
			t.Errorf("the .rpm lacks %s %s %s", w.perm, w.owner, w.path)
		}
	}
	// c: config, n: noreplace; an edited file survives an upgrade and the
	// new one is written as .rpmnew.
	flags := output(t, "rpm", "-qp", "--qf", `[%{FILEFLAGS:fflags} %{FILENAMES}\n]`, path)
	if !regexp.MustCompile(`(?m)^cn /etc/qcc/clusters\.toml$`).MatchString(flags) {
		t.Errorf("clusters.toml is not %%config(noreplace):\n%s", flags)
	}
	scripts := output(t, "rpm", "-qp", "--scripts", path)
	for _, s := range []string{"preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("the .rpm has no %s", s)
		}
	}
}

// TestScriptsCreateTheSysusersUser: the pre-install scripts create the
// user before the files are unpacked, from a copy of the sysusers.d line
// (the file itself is not on disk yet); the copies must not drift.
func TestScriptsCreateTheSysusersUser(t *testing.T) {
	conf, err := os.ReadFile(filepath.Join(repoRoot, "init/sysusers.d/qcc.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(conf), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			line = l
		}
	}
	if line == "" {
		t.Fatal("no user line in init/sysusers.d/qcc.conf")
	}
	for _, script := range []string{"packaging/scripts/deb/preinst", "packaging/scripts/rpm/pre"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, script))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "sysusers='"+line+"'") {
			t.Errorf("%s does not create the user as init/sysusers.d/qcc.conf does (%s)", script, line)
		}
	}
}

func TestMaintainerScriptsParse(t *testing.T) {
	scripts, _ := filepath.Glob(filepath.Join(repoRoot, "packaging/scripts/*/*"))
	scripts = append(scripts, filepath.Join(repoRoot, "packaging/install.sh"), "testdata/boot-guest.sh")
	if len(scripts) < 9 {
		t.Fatalf("found only %v", scripts)
	}
	for _, s := range scripts {
		if out, err := exec.Command("sh", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}
