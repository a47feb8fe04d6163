// Package e2e holds qcc's end-to-end tests: the packages, units, man pages
// and launchd property list as shipped, and qccd installed from its .deb
// and driven by a real systemd, booted as PID 1 of throwaway namespaces.
//
// The tests that need root, unshare or systemd skip with the reason when
// those are missing; CI runs as root and has them. Run them alone with
//
//	go test -v -count=1 ./test/e2e/
package e2e
