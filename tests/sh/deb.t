#!/bin/sh
# deb.t: dpkg-buildpackage -us -uc -b builds the stampd package from a copy
# of this work tree, offline, with Debian's own tools; the package holds
# what it should; installed with dpkg -i, its stampd serves on loopback and
# its stamp reads it; dpkg -r and dpkg -P take it all away again.
#
# It installs a package on this machine, so it needs root and will not
# touch a stampd package it did not install itself.  Runs of this test
# take turns through a lock; the EXIT trap purges the package should the
# test stop half-way.
. "$(dirname "$0")/../lib.sh"

lib_need dpkg-buildpackage dh dpkg-deb flock

TOP=$(cd "$(dirname "$0")/../.." && pwd)
INSTALLED=0

if [ "$(id -u)" != 0 ]; then
	ok 1 "deb.t runs as root: it installs the package it builds"
	diag "run make check as root (this test calls dpkg -i and dpkg -P)"
	done_testing
fi

deb_cleanup()
{
	local p

	for p in $LIB_PIDS; do
		lib_stop "$p"
	done
	if [ "$INSTALLED" = 1 ]; then
		diag "purging the stampd package this test installed"
		lib_timeout 300 dpkg --purge stampd \
		    > "$LIB_TMP/cleanup.log" 2>&1 ||
		    diag_file "$LIB_TMP/cleanup.log"
	fi
	lib_cleanup
}
trap deb_cleanup EXIT

# status: the package's state, "not-installed" when dpkg has never heard of
# it.
status()
{
	local s

	s=$(dpkg-query -W -f='${db:Status-Status}' stampd 2>/dev/null)
	echo "${s:-not-installed}"
}

# ---- build -------------------------------------------------------------------

VERSION=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
is "$VERSION" "$("$STAMPD" --version | sed -n 's/^stampd //p')" \
    "debian/changelog's version is stampd --version's"

# The work tree as it is, untracked files too, but no build output.
SRC=$LIB_TMP/stampd-$VERSION
mkdir "$SRC" &&
    tar -C "$TOP" --exclude=./build --exclude=./.git -cf - . |
    tar -C "$SRC" -xf -
ok $? "copy the work tree to $SRC"

# As Debian builds it: nothing of the make check that runs this test (its
# jobserver, CC=clang, SAN=1, O=) may leak into the build.
blog=$LIB_TMP/build.log
(cd "$SRC" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CC -u CFLAGS \
    -u LDFLAGS -u SAN -u O -u DESTDIR -u DEB_BUILD_OPTIONS \
    timeout "$(lib_scale 900)" dpkg-buildpackage -us -uc -b) > "$blog" 2>&1
ok $? "dpkg-buildpackage -us -uc -b exits 0" || {
	diag "the end of its output:"
	tail -n 40 "$blog" > "$blog.tail"
	diag_file "$blog.tail"
}
grep -E '^dpkg-(deb|buildpackage|genchanges): ' "$blog" | while read -r l; do
	note "  $l"
done

DEB=$LIB_TMP/stampd_${VERSION}_$(dpkg --print-architecture).deb
[ -f "$DEB" ]
ok $? "it builds ${DEB##*/}" || done_testing

# Debian's hardening flags reach the compiler; the tests stay out of it.
grep -q -e '-D_FORTIFY_SOURCE=2 .*-c -o build/deb/obj/stampd\.o' "$blog"
ok $? "the build compiles with dpkg-buildflags' CFLAGS and CPPFLAGS"
grep -Eq 'prove|tests/(unit|it|sh)/' "$blog"
is $? 1 "the build runs no test"

dpkg -c "$DEB" > "$LIB_TMP/contents" 2>&1
ok $? "dpkg -c ${DEB##*/} exits 0" || diag_file "$LIB_TMP/contents"
while read -r l; do
	note "  $l"
done < "$LIB_TMP/contents"

# has MODE PATH: dpkg -c lists PATH with MODE.
has()
{
	awk -v m="$1" -v p="$2" '$1 == m && $6 == p { f = 1 } END { exit !f }' \
	    "$LIB_TMP/contents"
	ok $? "the package holds $1 $2"
}
has -rwxr-xr-x ./usr/sbin/stampd
has -rwxr-xr-x ./usr/bin/stamp
has -rwxr-xr-x ./usr/bin/stampbench
has -rw-r--r-- ./usr/share/man/man8/stampd.8.gz
has -rw-r--r-- ./usr/share/man/man1/stamp.1.gz
has -rw-r--r-- ./usr/share/man/man1/stampbench.1.gz
has -rw-r--r-- ./lib/systemd/system/stampd.service
has -rw-r--r-- ./lib/systemd/system/stampd.socket
has -rw-r--r-- ./etc/default/stampd
has -rw-r--r-- ./usr/share/doc/stampd/copyright
has -rw-r--r-- ./usr/share/doc/stampd/examples/stamp

ARCH=$(dpkg --print-architecture)
is "$(dpkg-deb -f "$DEB" Package Version Architecture | tr '\n' ' ')" \
    "Package: stampd Version: $VERSION Architecture: $ARCH " \
    "its control says stampd $VERSION $ARCH"
like "$(dpkg-deb -f "$DEB" Depends)" '^libc6 \(>= [0-9.]+\)$' \
    "it depends on the C library alone: $(dpkg-deb -f "$DEB" Depends)"
is "$(dpkg-deb -I "$DEB" conffiles 2>&1)" /etc/default/stampd \
    "/etc/default/stampd is its one conffile"

# An upgrade stops no unit (stopping stampd.socket would refuse clients):
# the postinst reloads a running stampd.service, which execs the new
# binary in place (ExecReload: SIGUSR2).
dpkg-deb -e "$DEB" "$LIB_TMP/ctl"
! grep -Es 'deb-systemd-invoke (stop|restart)' "$LIB_TMP/ctl/preinst" \
    "$LIB_TMP/ctl/prerm" "$LIB_TMP/ctl/postinst"
ok $? "no maintainer script stops or restarts a unit at an upgrade"
grep -q 'deb-systemd-invoke try-reload-or-restart stampd.service' \
    "$LIB_TMP/ctl/postinst"
ok $? "the postinst reloads a running stampd.service after an upgrade"

# ---- install, run, remove ---------------------------------------------------

# The package's upgrade path, with the package's stampd serving on $P: dpkg
# -i again replaces /usr/sbin/stampd under it (an upgrade of the same
# version); then SIGUSR2, which systemctl reload sends from the postinst
# under systemd, makes it exec the new file in the same pid while
# stampbench -c 64 asks: every reply good.
upgrade_in_place()
{
	local dpid b

	dpid=$(lib_children "$STAMPD_PID" once | awk '{ print $1 }')
	lib_timeout 300 dpkg -i "$DEB" > "$LIB_TMP/again.log" 2>&1
	ok $? "dpkg -i ${DEB##*/} again, an upgrade, exits 0" ||
	    diag_file "$LIB_TMP/again.log"
	like "$(readlink "/proc/$dpid/exe")" ' \(deleted\)$' \
	    "the running stampd's file was replaced"
	lib_spawn "$LIB_TMP/up.out" /usr/bin/stampbench -c 64 -d 3 \
	    127.0.0.1 "$P"
	b=$LIB_PID
	sleep 1
	kill -USR2 "$dpid"
	lib_wait 10 grep -q 'upgraded: ' "$STAMPD_LOG"
	ok $? "SIGUSR2: pid $dpid execs the new /usr/sbin/stampd" ||
	    diag_file "$STAMPD_LOG"
	is "$(readlink "/proc/$dpid/exe")" /usr/sbin/stampd \
	    "pid $dpid now runs the file the package installed"
	lib_wait 30 lib_gone "$b"
	lib_stop "$b"
	ok $? "stampbench -c 64 through the upgrade: every reply good" ||
	    diag_file "$LIB_TMP/up.out"
	note "  $(grep RESULT "$LIB_TMP/up.out")"
}

# One run of this test at a time installs the package.
lockdir=/run/lock
[ -d $lockdir ] || lockdir=/tmp
exec 9> "$lockdir/stampd-deb.t.lock"
flock -w 900 9
ok $? "take the lock that keeps deb.t runs from overlapping" ||
    done_testing

st=$(status)
is "$st" not-installed "no stampd package is installed yet" || {
	diag "a stampd package is installed ($st): this test leaves it alone"
	done_testing
}

INSTALLED=1
lib_timeout 300 dpkg -i "$DEB" > "$LIB_TMP/install.log" 2>&1
ok $? "dpkg -i ${DEB##*/} exits 0" || diag_file "$LIB_TMP/install.log"
is "$(status) $(dpkg-query -W -f='${Version}' stampd)" "installed $VERSION" \
    "dpkg says stampd $VERSION is installed"
# Installing it opens no port: the units come disabled.
[ ! -e /etc/systemd/system/sockets.target.wants/stampd.socket ]
ok $? "stampd.socket is not enabled by the install"

v=$(lib_timeout 10 /usr/sbin/stampd --version)
is "$v" "stampd $VERSION" "/usr/sbin/stampd --version: $v"

BUILT_STAMPD=$STAMPD
STAMPD=/usr/sbin/stampd
stampd_start -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
ok $? "the package's stampd serves on 127.0.0.1, TCP and UDP" && {
	P=$(stampd_port tcp 127.0.0.1 stamp)
	U=$(stampd_port udp 127.0.0.1 stamp)
	while read -r l; do
		note "  $l"
	done < "$STAMPD_LOG"
	for t in tcp udp; do
		set -- -p "$P"
		[ $t = udp ] && set -- -u -p "$U"
		t0=$(date +%s)
		line=$(lib_timeout 10 /usr/bin/stamp "$@" 127.0.0.1)
		ok $? "/usr/bin/stamp $* 127.0.0.1 exits 0"
		t1=$(date +%s)
		note "/usr/bin/stamp $* 127.0.0.1: $line"
		within "${line%% *}" "$t0" "$t1" \
		    "the package's stamp reads the time over $t"
	done
	lib_timeout 60 /usr/bin/stampbench -n 100 127.0.0.1 "$P" \
	    > "$LIB_TMP/bench.out" 2>&1
	ok $? "/usr/bin/stampbench -n 100 127.0.0.1 $P exits 0" ||
	    diag_file "$LIB_TMP/bench.out"
	while read -r l; do
		note "  $l"
	done < "$LIB_TMP/bench.out"
	upgrade_in_place
	stampd_stop
	is $? 0 "the package's stampd exits 0 on TERM"
}
STAMPD=$BUILT_STAMPD

lib_timeout 300 dpkg -r stampd > "$LIB_TMP/remove.log" 2>&1
ok $? "dpkg -r stampd exits 0" || diag_file "$LIB_TMP/remove.log"
left=
for f in /usr/sbin/stampd /usr/bin/stamp /usr/bin/stampbench \
    /usr/share/man/man8/stampd.8.gz /lib/systemd/system/stampd.service \
    /lib/systemd/system/stampd.socket; do
	[ -e "$f" ] && left="$left $f"
done
is "$left" "" "dpkg -r removes the programs, manuals and units"
is "$(status)" config-files "and keeps the conffile until purged"
[ -f /etc/default/stampd ]
ok $? "/etc/default/stampd is still there"

lib_timeout 300 dpkg -P stampd > "$LIB_TMP/purge.log" 2>&1
ok $? "dpkg -P stampd exits 0" || diag_file "$LIB_TMP/purge.log"
[ ! -e /etc/default/stampd ] && [ ! -d /usr/share/doc/stampd ]
ok $? "dpkg -P removes /etc/default/stampd and the docs"
is "$(status)" not-installed "stampd is no longer installed"
INSTALLED=0

done_testing
