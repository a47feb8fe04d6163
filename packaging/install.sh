#!/bin/sh
# The system part of `make install`: service definitions and an example
# configuration, for systemd on Linux or launchd on macOS. The Makefile has
# installed the binaries and man pages already.
#
#   install.sh OS DESTDIR PREFIX SYSCONFDIR UNITDIR SYSUSERSDIR DATADIR
#
# Paths inside the installed files are rewritten to PREFIX and SYSCONFDIR.
# An existing configuration file is never replaced. With an empty DESTDIR,
# as root, on a systemd machine, it also creates the qcc user and gives the
# configuration to its group, as the packages do.
set -eu

os=$1 destdir=$2 prefix=$3 sysconfdir=$4 unitdir=$5 sysusersdir=$6 datadir=$7
here=$(dirname "$0")
root=$here/..
conf=$sysconfdir/qcc/clusters.toml

# rewrite SRC DST MODE: install SRC as DST with this installation's paths
# in place of those the file names: /usr/bin and /etc for systemd's files,
# /usr/local for launchd's.
rewrite() {
	mkdir -p "$(dirname "$2")"
	case $1 in
	*.plist)
		sed -e "s#/usr/local/bin/qccd#$prefix/bin/qccd#g" \
			-e "s#/usr/local/etc/qcc/#$sysconfdir/qcc/#g" \
			-e "s#/usr/local/var/#$prefix/var/#g" \
			"$1" >"$2.tmp"
		;;
	*)
		sed -e "s#/usr/bin/qccd#$prefix/bin/qccd#g" \
			-e "s# /etc/qcc/# $sysconfdir/qcc/#g" \
			"$1" >"$2.tmp"
		;;
	esac
	chmod "$3" "$2.tmp"
	mv "$2.tmp" "$2"
}

# config DST: install the example configuration unless one is there.
config() {
	if [ -e "$1" ]; then
		echo "install.sh: keeping the existing $1"
		return
	fi
	mkdir -p "$(dirname "$1")"
	cp "$root/packaging/clusters.toml" "$1.tmp"
	if [ "$os" = Darwin ]; then
		# No /run or /var/lib for a per-user agent: keep both under PREFIX.
		sed -e "s#\"/run/qccd/admin.sock\"#\"$prefix/var/run/qccd/admin.sock\"#" \
			-e "s#\"/var/lib/qccd\"#\"$prefix/var/lib/qccd\"#" \
			-e "s#/etc/qcc/clusters.toml#$sysconfdir/qcc/clusters.toml#g" \
			"$1.tmp" >"$1.tmp2"
		mv "$1.tmp2" "$1.tmp"
	fi
	chmod 0640 "$1.tmp"
	mv "$1.tmp" "$1"
}

case $os in
Darwin)
	rewrite "$root/init/launchd/dev.qcc.qccd.plist" "$destdir$datadir/launchd/dev.qcc.qccd.plist" 0644
	config "$destdir$conf"
	mkdir -p "$destdir$prefix/var/log" "$destdir$prefix/var/run/qccd" "$destdir$prefix/var/lib/qccd"
	cat <<MSG
Installed. To run qccd at login (see docs/operations.md, "macOS"):
  cp $datadir/launchd/dev.qcc.qccd.plist ~/Library/LaunchAgents/
  launchctl bootstrap gui/\$(id -u) ~/Library/LaunchAgents/dev.qcc.qccd.plist
MSG
	;;
*)
	rewrite "$root/init/systemd/qccd.service" "$destdir$unitdir/qccd.service" 0644
	rewrite "$root/init/systemd/qccd.socket" "$destdir$unitdir/qccd.socket" 0644
	rewrite "$root/init/systemd/drop-ins/notify-reload.conf" "$destdir$datadir/systemd/notify-reload.conf" 0644
	mkdir -p "$destdir$sysusersdir"
	cp "$root/init/sysusers.d/qcc.conf" "$destdir$sysusersdir/qcc.conf.tmp"
	chmod 0644 "$destdir$sysusersdir/qcc.conf.tmp"
	mv "$destdir$sysusersdir/qcc.conf.tmp" "$destdir$sysusersdir/qcc.conf"
	config "$destdir$conf"
	if [ -z "$destdir" ] && [ "$(id -u)" = 0 ] && [ -d /run/systemd/system ] && command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers "$sysusersdir/qcc.conf"
		chgrp qcc "$sysconfdir/qcc" "$conf"
		chmod 0750 "$sysconfdir/qcc"
		systemctl daemon-reload
		echo "Installed. Start qccd with: systemctl enable --now qccd"
	else
		cat <<MSG
Installed under '$destdir'. On the target machine, as root:
  systemd-sysusers $sysusersdir/qcc.conf
  chgrp qcc $sysconfdir/qcc $conf && chmod 0750 $sysconfdir/qcc
  systemctl daemon-reload && systemctl enable --now qccd
MSG
	fi
	;;
esac
