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

lib_nspawn_need

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${STAMP_CACHE:-$TOP/build/cache}
ARCHIVES=/var/cache/apt/archives
UPPER=$CACHE/deps-archives

# ---- the root, made once -----------------------------------------------------

# minbase and what boots it, no recommends: what deps.sh finds there is
# what a fresh Debian 12 machine has.  Its lock stays held to the end:
# runs of this test take turns at $UPPER.
lib_nspawn_root "$CACHE/nspawn-deps-bookworm" systemd,systemd-sysv,dbus ||
    done_testing

# ---- boot --------------------------------------------------------------------

# What deps.sh installs goes to the container's tmpfs and is gone with it;
# what apt downloads goes to $UPPER, kept.
mkdir -p "$UPPER"
LIB_LIFETIME=1800
lib_nspawn_boot --bind-ro="$TOP/tests:/src/tests" \
    --overlay="$ARCHIVES:$UPPER:$ARCHIVES" || done_testing

# enabled: the units enabled in the container, a line each.
enabled()
{
	lib_nspawn_in systemctl list-unit-files --state=enabled --no-legend \
	    --no-pager | awk '{ print $1 }' | sort
}

# running: the services running and the sockets listening, a line each.
running()
{
	lib_nspawn_in systemctl list-units --type=service,socket \
	    --state=running,listening --no-legend --no-pager --plain |
	    awk '{ print $1 }' | sort
}

enabled > "$LIB_TMP/enabled.before"
running > "$LIB_TMP/running.before"
lib_nspawn_in dpkg-query -W -f='${Package}\n' | sort > "$LIB_TMP/pkgs.before"
note "before: $(wc -l < "$LIB_TMP/pkgs.before") packages, $(wc -l < \
    "$LIB_TMP/enabled.before") units enabled, $(wc -l < \
    "$LIB_TMP/running.before") running or listening"

# ---- tests/deps.sh -----------------------------------------------------------

t0=$(date +%s)
lib_timeout 1500 nsenter -t "$LIB_NSPAWN_INIT" -a env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin sh /src/tests/deps.sh \
    > "$LIB_TMP/deps.log" 2>&1
ok $? "tests/deps.sh in the container exits 0 ($(($(date +%s) - t0)) s)" || {
	tail -n 40 "$LIB_TMP/deps.log" > "$LIB_TMP/deps.tail"
	diag_file "$LIB_TMP/deps.tail"
}
grep '^tests/deps.sh: ' "$LIB_TMP/deps.log" | while read -r l; do
	note "  $l"
done
lib_nspawn_in dpkg-query -W -f='${Package}\n' | sort > "$LIB_TMP/pkgs.after"
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
	f=$(lib_nspawn_in systemctl show -p FragmentPath --value "$u")
	p=$(lib_nspawn_in dpkg-query -S "$f" 2>/dev/null | sed 's/:.*//')
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
like "$(lib_nspawn_in dpkg-query -W -f='${db:Status-Status}' \
    prometheus-node-exporter 2>/dev/null)" '^(not-installed)?$' \
    "prometheus's recommended node exporter is not installed"

lib_timeout 300 nsenter -t "$LIB_NSPAWN_INIT" -a env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin sh /src/tests/deps.sh \
    > "$LIB_TMP/again.log" 2>&1
st=$?
is "$st $(wc -c < "$LIB_TMP/again.log")" "0 0" \
    "tests/deps.sh again: every command is found, nothing to do" ||
    diag_file "$LIB_TMP/again.log"

lib_nspawn_off

done_testing
