//go:build linux

package e2e

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// maxExposure is the highest `systemd-analyze security` score qccd.service
// may have: "OK" begins below 2.0 on systemd's scale.
const maxExposure = 2.0

// binaries holds qccd, qcc and fakeanthropic built for this host, once.
var binaries struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

func buildBinaries(t *testing.T) string {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "qcc-e2e-bin-")
		if binaries.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binaries.dir+"/", "./cmd/qccd", "./cmd/qcc", "./cmd/fakeanthropic")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		binaries.out, binaries.err = cmd.CombinedOutput()
	})
	if binaries.err != nil {
		t.Fatalf("go build: %v\n%s", binaries.err, binaries.out)
	}
	return binaries.dir // removed by TestMain
}

func requireTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("needs %s (Debian package %s; .ci/run installs it)", name, pkg)
	}
}

// TestServiceExposure keeps qccd.service's sandbox tight: systemd's own
// assessment must stay at or below maxExposure.
func TestServiceExposure(t *testing.T) {
	requireTool(t, "systemd-analyze", "systemd")
	unit := filepath.Join(repoRoot, "init/systemd/qccd.service")
	out, _ := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for qccd\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no score:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "✗") {
			open = append(open, strings.Join(strings.Fields(sc.Text()), " "))
		}
	}
	t.Logf("systemd-analyze security --offline=yes: exposure %.1f; still open:\n%s", score, strings.Join(open, "\n"))
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f", score, maxExposure)
	}
}

// TestUnitsVerify runs systemd-analyze verify on the units as installed:
// in a root that has the host's systemd units, the built qccd at
// /usr/bin/qccd, /bin/kill and /usr/bin/env, so that every Exec line is
// checked too.
// (The guest test verifies them again after a real install, man pages
// included.)
func TestUnitsVerify(t *testing.T) {
	requireTool(t, "systemd-analyze", "systemd")
	if _, err := os.Stat("/lib/systemd/system/sysinit.target"); err != nil {
		t.Skip("needs the host's systemd units")
	}
	bin := buildBinaries(t)
	root := t.TempDir()
	units := filepath.Join(root, "usr/lib/systemd/system")
	for _, dir := range []string{units, filepath.Join(root, "usr/bin"), filepath.Join(root, "bin")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "-a", "/lib/systemd/system/.", units).CombinedOutput(); err != nil {
		t.Fatalf("copying the host's units: %v\n%s", err, out)
	}
	copyFile(t, filepath.Join(bin, "qccd"), filepath.Join(root, "usr/bin/qccd"), 0o755)
	copyFile(t, "/bin/kill", filepath.Join(root, "bin/kill"), 0o755)
	copyFile(t, "/usr/bin/env", filepath.Join(root, "usr/bin/env"), 0o755)
	for _, u := range []string{"qccd.service", "qccd.socket"} {
		copyFile(t, filepath.Join(repoRoot, "init/systemd", u), filepath.Join(units, u), 0o644)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--root="+root, "--man=no", "qccd.service", "qccd.socket").CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestNotifyReloadDropIn: the drop-in for systemd >= 253 changes only what
// it is about. This systemd may be too old to load it, so it is checked as
// text.
func TestNotifyReloadDropIn(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "init/systemd/drop-ins/notify-reload.conf"))
	if err != nil {
		t.Fatal(err)
	}
	var settings []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			settings = append(settings, l)
		}
	}
	want := []string{
		"[Service]",
		"Type=notify-reload",
		"ReloadSignal=SIGHUP",
		"ExecReload=",
		"ExecReload=/usr/bin/env CREDENTIALS_DIRECTORY=/run/qccd/credentials /usr/bin/qccd --check-config --config /etc/qcc/clusters.toml",
	}
	if strings.Join(settings, "\n") != strings.Join(want, "\n") {
		t.Errorf("notify-reload.conf settings:\n%s\nwant:\n%s", strings.Join(settings, "\n"), strings.Join(want, "\n"))
	}
}

// TestExampleConfigIsValid: the conffile the packages install must start.
func TestExampleConfigIsValid(t *testing.T) {
	bin := buildBinaries(t)
	for _, cfg := range []string{"packaging/clusters.toml", "packaging/examples/demo.toml"} {
		out, err := exec.Command(filepath.Join(bin, "qccd"), "--check-config", "--config", filepath.Join(repoRoot, cfg)).CombinedOutput()
		if err != nil {
			t.Errorf("qccd --check-config %s: %v\n%s", cfg, err, out)
		}
	}
}

// plist is the part of a launchd property list this test reads: a flat
// dict whose values are kept as raw XML.
type plistValue struct {
	XMLName xml.Name
	Inner   string       `xml:",innerxml"`
	Items   []plistValue `xml:",any"`
}

func plistDict(t *testing.T, v plistValue) map[string]plistValue {
	t.Helper()
	if v.XMLName.Local != "dict" {
		t.Fatalf("want a dict, got %s", v.XMLName.Local)
	}
	m := map[string]plistValue{}
	for i := 0; i+1 < len(v.Items); i += 2 {
		m[strings.TrimSpace(v.Items[i].Inner)] = v.Items[i+1]
	}
	return m
}

// TestLaunchdPlist checks init/launchd/*.plist against Apple's DTD (no
// plutil here) and then for what launchd needs from it.
func TestLaunchdPlist(t *testing.T) {
	plists, _ := filepath.Glob(filepath.Join(repoRoot, "init/launchd/*.plist"))
	if len(plists) == 0 {
		t.Fatal("no property lists in init/launchd")
	}
	for _, p := range plists {
		t.Run(filepath.Base(p), func(t *testing.T) {
			if _, err := exec.LookPath("xmllint"); err == nil {
				cmd := exec.Command("xmllint", "--noout", "--nonet",
					"--dtdvalid", filepath.Join(repoRoot, "init/launchd/dtd/PropertyList-1.0.dtd"), p)
				cmd.Env = append(os.Environ(), "XML_CATALOG_FILES="+filepath.Join(repoRoot, "init/launchd/dtd/catalog.xml"))
				if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
					t.Errorf("xmllint: %v\n%s", err, out)
				}
			} else {
				t.Log("xmllint missing (Debian package libxml2-utils): DTD validation skipped")
			}

			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var doc struct {
				Dict plistValue `xml:"dict"`
			}
			if err := xml.NewDecoder(f).Decode(&doc); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			top := plistDict(t, doc.Dict)
			wantText := func(key, want string) {
				t.Helper()
				v, ok := top[key]
				if got := strings.TrimSpace(v.Inner); !ok || v.XMLName.Local != "string" || got != want {
					t.Errorf("%s = <%s>%s, want <string>%s", key, v.XMLName.Local, got, want)
				}
			}
			wantText("Label", strings.TrimSuffix(filepath.Base(p), ".plist"))
			if v := top["RunAtLoad"]; v.XMLName.Local != "true" {
				t.Errorf("RunAtLoad = <%s/>, want <true/>", v.XMLName.Local)
			}
			keepAlive := plistDict(t, top["KeepAlive"])
			if v := keepAlive["SuccessfulExit"]; v.XMLName.Local != "false" {
				t.Errorf("KeepAlive.SuccessfulExit = <%s/>, want <false/>: restart on failure only", v.XMLName.Local)
			}
			exit, err := strconv.Atoi(strings.TrimSpace(top["ExitTimeOut"].Inner))
			if err != nil || exit <= 60 {
				t.Errorf("ExitTimeOut = %q, want more than the 60 s default drain_timeout", top["ExitTimeOut"].Inner)
			}
			for _, key := range []string{"StandardOutPath", "StandardErrorPath"} {
				if v := strings.TrimSpace(top[key].Inner); !strings.HasPrefix(v, "/") {
					t.Errorf("%s = %q, want an absolute path", key, v)
				}
			}
			args := top["ProgramArguments"].Items
			if len(args) == 0 || !strings.HasSuffix(strings.TrimSpace(args[0].Inner), "/bin/qccd") {
				t.Errorf("ProgramArguments does not run qccd: %+v", args)
			}
		})
	}
}

// TestManPages checks the man pages with groff's warnings on, and that
// they document every flag of qccd and every command of qcc.
func TestManPages(t *testing.T) {
	requireTool(t, "groff", "groff-base")
	for _, page := range []string{"man/qccd.8", "man/qcc.1"} {
		out, err := exec.Command("groff", "-man", "-ww", "-z", filepath.Join(repoRoot, page)).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -ww %s: %v\n%s", page, err, out)
		}
	}
	bin := buildBinaries(t)
	qccd, _ := os.ReadFile(filepath.Join(repoRoot, "man/qccd.8"))
	help, _ := exec.Command(filepath.Join(bin, "qccd"), "--help").CombinedOutput()
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllSubmatch(help, -1) {
		flag := `\-\-` + strings.ReplaceAll(string(m[1]), "-", `\-`)
		if !strings.Contains(string(qccd), flag) {
			t.Errorf("qccd(8) does not document --%s", m[1])
		}
	}
	qcc, _ := os.ReadFile(filepath.Join(repoRoot, "man/qcc.1"))
	usage, _ := exec.Command(filepath.Join(bin, "qcc"), "--help").CombinedOutput()
	commands := commandList(string(usage))
	if len(commands) == 0 {
		t.Fatalf("found no commands in qcc --help:\n%s", usage)
	}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^\.(B|BI|BR) "?` + regexp.QuoteMeta(c) + `\b`).Match(qcc) {
			t.Errorf("qcc(1) does not document the command %q", c)
		}
	}
}

// commandList reads the command names from qcc's usage: the first word of
// each indented line under "commands:".
func commandList(usage string) []string {
	var names []string
	in := false
	for _, l := range strings.Split(usage, "\n") {
		switch {
		case strings.TrimSpace(l) == "commands:":
			in = true
		case in && strings.HasPrefix(l, "  ") && strings.TrimSpace(l) != "":
			names = append(names, strings.Fields(l)[0])
		case in:
			in = false
		}
	}
	return names
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(fmt.Errorf("writing %s: %w", dst, err))
	}
}
