#!/bin/sh
# boot-guest.sh BASE PAYLOAD CONSOLE: boots systemd as PID 1 of a throwaway
# guest.
#
# Run it as the first process of fresh namespaces:
#   unshare --fork --pid --mount --uts --ipc --net --cgroup boot-guest.sh BASE PAYLOAD CONSOLE
# BASE is an empty directory on the host, PAYLOAD a directory whose files
# the guest gets at /opt/qcc-e2e, and CONSOLE a file that stands in for the
# guest's /dev/console. Everything this script mounts lives in the
# private mount namespace and vanishes with it; the host's files are the
# read-only lower layer of an overlay whose writable layer is a tmpfs, and
# the guest's /run and /tmp are tmpfs of its own. Without that, the guest's
# systemd-tmpfiles would clean the host's /tmp at boot.
set -eu

base=$1
payload=$2
console=$3

[ "$$" = 1 ] || { echo "boot-guest.sh: must run as PID 1 of a new PID namespace" >&2; exit 1; }

# Nothing mounted here may reach the host, whatever unshare defaulted to.
mount --make-rprivate /

mount -t tmpfs -o mode=0755 qcc-e2e "$base"
mkdir "$base/upper" "$base/work" "$base/root"
root=$base/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root"

mount --rbind /dev "$root/dev"
# systemd writes to and resets /dev/console, and would log to the kernel's
# ring buffer; the host's console and kernel log stay untouched.
mount --bind "$console" "$root/dev/console"
mount --bind /dev/null "$root/dev/kmsg"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
# The kernel's knobs in /sys and /proc/sys are the host's: read-only here,
# as in any container.
mount --rbind /sys "$root/sys"
mount -o remount,bind,ro "$root/sys"
# The host's cgroup mounts show the whole host tree. A cgroup2 mount made
# here, in the new cgroup namespace, shows only the subtree the test made
# for this guest, so the guest's systemd can organise it freely.
umount -R "$root/sys/fs/cgroup"
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"

mkdir -p "$root/opt/qcc-e2e"
cp -a "$payload/." "$root/opt/qcc-e2e/"

mkdir -p "$root/.oldroot"
cd "$root"
pivot_root . .oldroot
cd /
# umount reads /proc/self/mountinfo, so the guest's /proc comes first.
mount -t proc proc /proc
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
if [ -e /proc/sysrq-trigger ]; then
	mount --bind /proc/sysrq-trigger /proc/sysrq-trigger
	mount -o remount,bind,ro /proc/sysrq-trigger
fi
umount -l /.oldroot
rmdir /.oldroot
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp

# Units that would touch the host kernel's state (sysctls, binfmt, modules,
# the root mount, the clock, devices in the shared /dev, the entropy pool)
# or that start work on a timer are masked for this boot.
mkdir -p /run/systemd/system
mask() { ln -sf /dev/null "/run/systemd/system/$1"; }
for unit in systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
	systemd-modules-load.service kmod-static-nodes.service systemd-remount-fs.service \
	systemd-timesyncd.service systemd-udevd.service systemd-udev-trigger.service \
	systemd-udev-settle.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
	systemd-tmpfiles-setup-dev.service systemd-random-seed.service systemd-hwdb-update.service \
	timers.target; do
	mask "$unit"
done
for timer in /lib/systemd/system/*.timer /etc/systemd/system/*.timer /etc/systemd/system/*.wants/*.timer; do
	[ -e "$timer" ] || [ -L "$timer" ] || continue
	mask "${timer##*/}"
done

ip link set lo up

# systemd shares mount propagation in the tree it boots only when the kernel
# starts it; a container manager has to do it. Without it, what systemd
# mounts in a helper's namespace (a unit's credentials) never appears. The
# peer groups made here are new and this namespace's alone: the tree was
# made private from the host's above.
mount --make-rshared /

exec env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	/lib/systemd/systemd --unit=basic.target --log-target=journal --show-status=no
