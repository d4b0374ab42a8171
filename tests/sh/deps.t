#!/bin/sh
# deps.t: tests/deps.sh leaves the machine as it found it, but for the
# packages it installs: no service of a test peer enabled or running.
#
# A fresh Debian 12 root with systemd (and nothing else the tests need),
# made by mmdebstrap and kept in build/cache (made once, then reused),
# boots in systemd-nspawn: its own PID 1, the root an overlay that the boot
# leaves as it was.  The container shares this machine's network, as apt
# inside needs Debian's mirror; the packages this machine's apt has kept
# are lent to it through an overlay, whose upper directory in build/cache
# keeps what the container downloaded for the next run (runs of this test
# take turns through a lock).  tests/deps.sh runs there as make check runs
# it, as root; then:
#   - the units enabled (systemctl list-unit-files --state=enabled) are
#     those enabled before, one for one;
#   - no service or socket of a package it installed runs or listens
#     (systemctl list-units --state=running,listening);
#   - recommends are left out (prometheus-node-exporter is prometheus's);
#   - every command of its table is found, and a second run does nothing.
# Needs root, as systemd-nspawn does, and Debian's mirror.
. "$(dirname "$0")/../lib.sh"

lib_no_chroot "systemd-nspawn --boot"
lib_need mmdebstrap systemd-nspawn nsenter flock

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${STAMP_CACHE:-$TOP/build/cache}
ROOT=$CACHE/nspawn-deps-bookworm
ARCHIVES=/var/cache/apt/archives
UPPER=$CACHE/deps-archives
INIT=

if [ "$(id -u)" != 0 ]; then
	ok 1 "deps.t runs as root: systemd-nspawn boots a container"
	done_testing
fi

# ---- the root, made once -----------------------------------------------------

# minbase and what boots it, no recommends: what deps.sh finds there is
# what a fresh Debian 12 machine has.  A root made from another list is
# made again.
INCLUDE=systemd,systemd-sysv,dbus
mkdir -p "$CACHE"
exec 8> "$CACHE/nspawn-deps.lock"
flock -w "$(lib_scale 1800)" 8
if [ ! -x "$ROOT/lib/systemd/systemd" ] ||
    [ "$(cat "$ROOT.include" 2>/dev/null)" != "$INCLUDE" ]; then
	rm -rf "$ROOT.new" "$ROOT" "$ROOT.include"
	lib_timeout 900 mmdebstrap --variant=minbase \
	    --include="$INCLUDE" \
	    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	    --aptopt='APT::Install-Recommends "false"' \
	    bookworm "$ROOT.new" > "$LIB_TMP/mmdebstrap.log" 2>&1 &&
	    mv "$ROOT.new" "$ROOT" && echo "$INCLUDE" > "$ROOT.include"
	ok $? "mmdebstrap a Debian 12 root with systemd into $ROOT" || {
		tail -n 30 "$LIB_TMP/mmdebstrap.log" > "$LIB_TMP/mm.tail"
		diag_file "$LIB_TMP/mm.tail"
		done_testing
	}
else
	ok 0 "the Debian 12 root with systemd is in $ROOT already"
fi

# ---- boot --------------------------------------------------------------------

# --volatile=overlay: what deps.sh installs goes to a tmpfs and is gone
# with the container; what apt downloads goes to $UPPER, kept.  The
# container holds no lock of ours.
mkdir -p "$UPPER"
LIB_LIFETIME=1800
lib_spawn "$LIB_TMP/nspawn.log" systemd-nspawn -q -D "$ROOT" --boot \
    --register=no --keep-unit --volatile=overlay --console=passive \
    --bind-ro="$TOP/tests:/src/tests" \
    --overlay="$ARCHIVES:$UPPER:$ARCHIVES" -M "stampd-deps-t$$" 8>&-
NSPAWN=$LIB_PID

# find_init: the container's PID 1, systemd, a child of systemd-nspawn.
find_init()
{
	local p

	for p in $(lib_children "$NSPAWN"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
			INIT=$p
			return 0
		fi
	done
	return 1
}
lib_wait 30 find_init
ok $? "systemd-nspawn --boot starts systemd (pid $INIT here)" || {
	diag_file "$LIB_TMP/nspawn.log"
	done_testing
}

# inside CMD...: CMD in the container, its root, namespaces and all.
inside()
{
	lib_timeout 120 nsenter -t "$INIT" -a "$@"
}

manager()
{
	inside test -S /run/systemd/private
}
lib_wait 60 manager
ok $? "the container's systemd answers systemctl"
state=$(inside systemctl is-system-running --wait)
like "$state" '^(running|degraded)$' "the container's systemd is up: $state"

# enabled: the units enabled in the container, a line each.
enabled()
{
	inside systemctl list-unit-files --state=enabled --no-legend \
	    --no-pager | awk '{ print $1 }' | sort
}

# running: the services running and the sockets listening, a line each.
running()
{
	inside systemctl list-units --type=service,socket \
	    --state=running,listening --no-legend --no-pager --plain |
	    awk '{ print $1 }' | sort
}

enabled > "$LIB_TMP/enabled.before"
running > "$LIB_TMP/running.before"
inside dpkg-query -W -f='${Package}\n' | sort > "$LIB_TMP/pkgs.before"
note "before: $(wc -l < "$LIB_TMP/pkgs.before") packages, $(wc -l < \
    "$LIB_TMP/enabled.before") units enabled, $(wc -l < \
    "$LIB_TMP/running.before") running or listening"

# ---- tests/deps.sh -----------------------------------------------------------

t0=$(date +%s)
lib_timeout 1500 nsenter -t "$INIT" -a env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin sh /src/tests/deps.sh \
    > "$LIB_TMP/deps.log" 2>&1
ok $? "tests/deps.sh in the container exits 0 ($(($(date +%s) - t0)) s)" || {
	tail -n 40 "$LIB_TMP/deps.log" > "$LIB_TMP/deps.tail"
	diag_file "$LIB_TMP/deps.tail"
}
grep '^tests/deps.sh: ' "$LIB_TMP/deps.log" | while read -r l; do
	note "  $l"
done
inside dpkg-query -W -f='${Package}\n' | sort > "$LIB_TMP/pkgs.after"
comm -13 "$LIB_TMP/pkgs.before" "$LIB_TMP/pkgs.after" > "$LIB_TMP/pkgs.new"
note "it installed $(wc -l < "$LIB_TMP/pkgs.new") packages"

enabled > "$LIB_TMP/enabled.after"
diff "$LIB_TMP/enabled.before" "$LIB_TMP/enabled.after" \
    > "$LIB_TMP/enabled.diff"
ok $? "systemctl list-unit-files --state=enabled: as before ($(wc -l < \
    "$LIB_TMP/enabled.after") units)" ||
    diag_file "$LIB_TMP/enabled.diff"

# A unit that runs now and did not before, of a package deps.sh installed.
running > "$LIB_TMP/running.after"
comm -13 "$LIB_TMP/running.before" "$LIB_TMP/running.after" |
    while read -r u; do
	f=$(inside systemctl show -p FragmentPath --value "$u")
	p=$(inside dpkg-query -S "$f" 2>/dev/null | sed 's/:.*//')
	if grep -qx "$p" "$LIB_TMP/pkgs.new"; then
		echo "$u ($p)"
	fi
done > "$LIB_TMP/running.peers"
is "$(tr '\n' ' ' < "$LIB_TMP/running.peers")" "" \
    "no service or socket of a package it installed runs or listens"

for p in prometheus chrony haproxy xinetd podman; do
	grep -qx "$p" "$LIB_TMP/pkgs.new"
	ok $? "it installed $p, a peer that brings a service"
done
like "$(inside dpkg-query -W -f='${db:Status-Status}' \
    prometheus-node-exporter 2>/dev/null)" '^(not-installed)?$' \
    "prometheus's recommended node exporter is not installed"

lib_timeout 300 nsenter -t "$INIT" -a env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin sh /src/tests/deps.sh \
    > "$LIB_TMP/again.log" 2>&1
st=$?
is "$st $(wc -c < "$LIB_TMP/again.log")" "0 0" \
    "tests/deps.sh again: every command is found, nothing to do" ||
    diag_file "$LIB_TMP/again.log"

inside systemctl poweroff > /dev/null 2>&1
lib_wait 30 lib_gone "$NSPAWN"
ok $? "the container powers off"
lib_stop "$NSPAWN" > /dev/null 2>&1

done_testing
