#!/bin/sh
# deb.t: dpkg-buildpackage -us -uc builds the stampd source and binary
# packages from a copy of this work tree, offline, with Debian's own tools;
# lintian finds no error and no warning in them; the package holds what it
# should, and its maintainer scripts restart the service after an upgrade
# and stop it on remove; the build runs the unit tests and no other, and
# debian/control's Build-Depends are what it needs, none of the test
# suite's peers (tests/deps.sh); installed with dpkg -i, its stampd serves
# on loopback and its stamp reads it; dpkg -r and dpkg -P take it all away
# again; then autopkgtest runs debian/tests on this machine (-- null).
# What the scripts do under a real systemd is deb_systemd.t's.
#
# It installs a package on this machine, so it needs root and will not
# touch a stampd package it did not install itself.  Runs of this test
# take turns through a lock; the EXIT trap purges the package should the
# test stop half-way, and a run killed before its trap could (SIGKILL, a
# machine stopped) leaves a mark in /var/tmp, so the next run purges
# what it left, half-configured or not.
. "$(dirname "$0")/../lib.sh"

lib_need dpkg-buildpackage dh dpkg-deb flock lintian autopkgtest python3

TOP=$(cd "$(dirname "$0")/../.." && pwd)
INSTALLED=0
POLICY=/usr/sbin/policy-rc.d
POLICY_OURS=

if [ "$(id -u)" != 0 ]; then
	ok 1 "deb.t runs as root: it installs the package it builds"
	diag "run make check as root (this test calls dpkg -i and dpkg -P)"
	done_testing
fi

deb_cleanup()
{
	local st=$? p

	for p in $LIB_PIDS; do
		lib_stop "$p"
	done
	[ -z "$POLICY_OURS" ] || rm -f "$POLICY"
	if [ "$INSTALLED" = 1 ]; then
		diag "purging the stampd package this test installed"
		if lib_timeout 300 dpkg --purge stampd \
		    > "$LIB_TMP/cleanup.log" 2>&1; then
			rm -f "$MARK"
		else
			diag_file "$LIB_TMP/cleanup.log"
		fi
	fi
	lib_cleanup "$st"
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
    timeout "$(lib_scale 900)" dpkg-buildpackage -us -uc) > "$blog" 2>&1
ok $? "dpkg-buildpackage -us -uc exits 0" || {
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
# dh_auto_test runs make check-unit: every unit test, each passing, and no
# test that needs a peer, root or the network.
for f in "$TOP"/tests/unit/*.c; do
	f=${f##*/}
	echo "${f%.c}"
done | sort > "$LIB_TMP/units.want"
sed -n 's#^build/deb/tests/unit/\([a-z_0-9]*\)\.t: ok, [0-9]* tests$#\1#p' \
    "$blog" | sort > "$LIB_TMP/units.ran"
diff "$LIB_TMP/units.want" "$LIB_TMP/units.ran" > "$LIB_TMP/units.diff"
ok $? "dh_auto_test runs every unit test, each passing ($(wc -l < \
    "$LIB_TMP/units.ran"))" || diag_file "$LIB_TMP/units.diff"
grep -Eq 'prove|tests/(it|sh)/' "$blog"
is $? 1 "the build runs no other test (no peer, no root, no network)"
# -Werror is the project's own builds': a newer gcc's new warning must not
# fail a distribution's build.
grep -e '-c -o build/deb/obj/stampd\.o' "$blog" | grep -Eq -e '-Werror( |$)'
is $? 1 "the package build compiles without -Werror (WERROR=)"

# ---- lintian -----------------------------------------------------------------

# The .changes names the .dsc and the .deb: lintian checks both.
CHANGES=$LIB_TMP/stampd_${VERSION}_$(dpkg --print-architecture).changes
grep -q " stampd_$VERSION\.dsc\$" "$CHANGES" 2>/dev/null
ok $? "the build made the source package stampd_$VERSION.dsc too"
lintian --display-info "$CHANGES" > "$LIB_TMP/lintian.out" \
    2> "$LIB_TMP/lintian.err"
st=$?
while read -r l; do
	note "  lintian: $l"
done < "$LIB_TMP/lintian.out"
ne=$(grep -c '^E: ' "$LIB_TMP/lintian.out")
nw=$(grep -c '^W: ' "$LIB_TMP/lintian.out")
is "$st $ne $nw" "0 0 0" \
    "lintian ${CHANGES##*/}: exit 0, 0 errors, 0 warnings" ||
    diag_file "$LIB_TMP/lintian.err"

# ---- maintainer scripts ------------------------------------------------------

# The scripts dh_installsystemd generated, read back from the .deb, with
# debian/stampd.postinst's: the units are started on a first install and
# after an upgrade (never left stopped), stampd.service alone restarted
# after an upgrade (restarting stampd.socket would close the sockets and
# refuse clients), both stopped on remove.  deb_systemd.t runs them under
# systemd.
CTL=$LIB_TMP/control
dpkg-deb -e "$DEB" "$CTL"
ok $? "dpkg-deb -e ${DEB##*/}"
grep -q "deb-systemd-invoke start 'stampd.service' 'stampd.socket'" \
    "$CTL/postinst"
ok $? "postinst: deb-systemd-invoke start on install and upgrade"
grep -q 'deb-systemd-invoke try-restart stampd.service ' "$CTL/postinst" &&
    ! grep -Eq 'deb-systemd-invoke .*(restart|stop).*stampd.socket' \
    "$CTL/postinst"
ok $? "postinst: restarts stampd.service alone on upgrade, never the socket"
grep -q "deb-systemd-helper enable 'stampd.socket'" "$CTL/postinst"
ok $? "postinst: enables stampd.socket on a first install"
# stampd-metrics.socket is off: debhelper enables it again after an upgrade
# only where the admin had (debian-installed), and never starts it.
! grep -q "deb-systemd-invoke .*stampd-metrics" "$CTL/postinst" &&
    grep -q "deb-systemd-helper debian-installed 'stampd-metrics.socket'" \
    "$CTL/postinst"
ok $? "postinst: stampd-metrics.socket left off, or as the admin set it"
! grep -q 'deb-systemd-invoke stop' "$CTL/preinst" 2>/dev/null
ok $? "preinst: stops nothing before an upgrade"
grep -q '"$1" = remove' "$CTL/prerm" 2>/dev/null &&
    grep -q "deb-systemd-invoke stop 'stampd.service' 'stampd.socket'" \
    "$CTL/prerm"
ok $? "prerm: deb-systemd-invoke stop on remove"
for f in preinst postinst prerm postrm; do
	[ -f "$CTL/$f" ] || continue
	grep -n 'deb-systemd-invoke\|deb-systemd-helper' "$CTL/$f" |
	    while read -r l; do
		note "  $f:$l"
	done
done

# ---- Build-Depends -----------------------------------------------------------

# What the build needs and nothing else: debhelper, and the packages of the
# headers tests/deps.sh names as the build's; no test peer, not even as
# <!nocheck> (a build root would grow by the hundreds of packages that
# make check installs).
{
	echo debhelper-compat
	sh "$TOP/tests/deps.sh" --build-packages
} | sort -u > "$LIB_TMP/deps.want"
awk '/^Build-Depends:/ { on = 1 } on && /^[^ ]/ && !/^Build-Depends:/ {
	on = 0 } on' "$TOP/debian/control" | sed 's/^Build-Depends://' |
    tr ',' '\n' | sed -n 's/^[[:space:]]*\([a-z0-9.+-][a-z0-9.+-]*\).*/\1/p' |
    sort -u > "$LIB_TMP/deps.control"
diff "$LIB_TMP/deps.want" "$LIB_TMP/deps.control" > "$LIB_TMP/deps.diff"
ok $? "debian/control's Build-Depends: $(tr '\n' ' ' < \
    "$LIB_TMP/deps.control")(debhelper and tests/deps.sh --build-packages)" ||
{
	diag "< wanted, > debian/control:"
	diag_file "$LIB_TMP/deps.diff"
}

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
has -rw-r--r-- ./usr/share/bash-completion/completions/stampd
has -rw-r--r-- ./usr/share/bash-completion/completions/stamp
has -rw-r--r-- ./lib/systemd/system/stampd.service
has -rw-r--r-- ./lib/systemd/system/stampd.socket
has -rw-r--r-- ./lib/systemd/system/stampd-metrics.socket
has -rw-r--r-- ./etc/default/stampd
has -rw-r--r-- ./etc/stampd/stampd.conf
has -rw-r--r-- ./usr/share/doc/stampd/copyright
has -rw-r--r-- ./usr/share/doc/stampd/examples/stamp

ARCH=$(dpkg --print-architecture)
is "$(dpkg-deb -f "$DEB" Package Version Architecture | tr '\n' ' ')" \
    "Package: stampd Version: $VERSION Architecture: $ARCH " \
    "its control says stampd $VERSION $ARCH"
like "$(dpkg-deb -f "$DEB" Depends)" \
    '^libc6 \(>= [0-9.]+\), libgnutls30 \(>= [0-9.]+\), '\
'liburing2 \(>= [0-9.]+\)$' \
    "it depends on the C library, GnuTLS and liburing alone: $(dpkg-deb -f \
    "$DEB" Depends)"
is "$(dpkg-deb -I "$DEB" conffiles 2>&1 | tr '\n' ' ')" \
    "/etc/default/stampd /etc/stampd/stampd.conf " \
    "/etc/default/stampd and /etc/stampd/stampd.conf are its conffiles"

# ---- install, run, remove ---------------------------------------------------

# An upgrade of the package under a stampd it did not start (-l in
# STAMPD_OPTS, or an init script), serving on $P: dpkg -i again replaces
# /usr/sbin/stampd under it (an upgrade of the same version); then
# SIGUSR2, which systemctl reload stampd sends, makes it exec the new file
# in the same pid while stampbench -c 64 asks: every reply good.
# deb_systemd.t shows the postinst's restart under systemd losing nothing.
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

# mine / not_mine: say, in a mark that outlives a reboot, whether the stampd
# package installed now is this test's.
MARK=/var/tmp/stampd-deb.t.installed
mine()
{
	INSTALLED=1
	: > "$MARK"
}
not_mine()
{
	INSTALLED=0
	rm -f "$MARK"
}
if [ -e "$MARK" ] && [ "$(status)" != not-installed ]; then
	diag "a run of deb.t killed half-way left stampd $(status): purging it"
	lib_timeout 300 dpkg --purge stampd > "$LIB_TMP/leftover.log" 2>&1 ||
	    diag_file "$LIB_TMP/leftover.log"
fi
[ "$(status)" != not-installed ] || rm -f "$MARK"
# and a policy-rc.d a killed run wrote is no admin's.
! grep -qs 'tests/sh/deb.t: no service' "$POLICY" || rm -f "$POLICY"

st=$(status)
is "$st" not-installed "no stampd package is installed yet" || {
	diag "a stampd package is installed ($st): this test leaves it alone"
	done_testing
}

# On a machine run by systemd the install would start stampd.socket on
# port 1937, every address: a policy-rc.d says no while the test runs (an
# admin's own is left to decide).
if [ ! -e "$POLICY" ]; then
	printf '#!/bin/sh\n# %s: no service starts meanwhile.\nexit 101\n' \
	    tests/sh/deb.t > "$POLICY" && chmod 755 "$POLICY" && POLICY_OURS=1
fi

mine
lib_timeout 300 dpkg -i "$DEB" > "$LIB_TMP/install.log" 2>&1
ok $? "dpkg -i ${DEB##*/} exits 0" || diag_file "$LIB_TMP/install.log"
is "$(status) $(dpkg-query -W -f='${Version}' stampd)" "installed $VERSION" \
    "dpkg says stampd $VERSION is installed"
# The socket is enabled, as Debian's daemons are (started, too, where
# systemd runs and no policy-rc.d says no).
[ -L /etc/systemd/system/sockets.target.wants/stampd.socket ]
ok $? "stampd.socket is enabled by the install"

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
[ ! -e /etc/systemd/system/sockets.target.wants/stampd.socket ]
ok $? "and stampd.socket is no longer enabled"
not_mine

# ---- autopkgtest -------------------------------------------------------------

# debian/tests on this machine: autopkgtest installs the package it is
# given (and the tests' Depends) with apt and leaves them; the purge below
# and the EXIT trap take it away.
# Another apt or dpkg on this machine (another session's tests/deps.sh)
# may hold dpkg's lock a while, and autopkgtest's own dpkg --unpack does not
# wait for it: the test waits until the lock is free, and tries again (at
# most twice more) when autopkgtest failed on the lock alone.
dpkg_free()
{
	/usr/bin/python3 -c '
import fcntl, sys
for p in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock"):
    with open(p, "a") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            sys.exit(1)'
}
printf 'DPkg::Lock::Timeout "%s";\n' "$(lib_scale 300)" \
    > "$LIB_TMP/apt.conf"
mine
try=1
while :; do
	lib_wait 300 dpkg_free || diag "dpkg's lock is still held"
	rm -rf "$LIB_TMP/autopkgtest"
	APT_CONFIG=$LIB_TMP/apt.conf lib_timeout 900 autopkgtest \
	    -o "$LIB_TMP/autopkgtest" "$CHANGES" -- null \
	    > "$LIB_TMP/autopkgtest.log" 2>&1
	st=$?
	[ $st != 0 ] && [ $try -lt 3 ] &&
	    grep -q 'lock was locked by another process' \
	    "$LIB_TMP/autopkgtest.log" || break
	note "autopkgtest met another process's dpkg lock: again"
	try=$((try + 1))
done
is "$st" 0 "autopkgtest ${CHANGES##*/} -- null exits 0" || {
	tail -n 40 "$LIB_TMP/autopkgtest.log" > "$LIB_TMP/autopkgtest.tail"
	diag_file "$LIB_TMP/autopkgtest.tail"
}
for f in serve-stdout summary; do
	[ -f "$LIB_TMP/autopkgtest/$f" ] || continue
	while read -r l; do
		note "  autopkgtest $f: $l"
	done < "$LIB_TMP/autopkgtest/$f"
done
like "$(cat "$LIB_TMP/autopkgtest/summary" 2>/dev/null)" '^serve +PASS' \
    "autopkgtest: debian/tests/serve passes"
grep -q '^ok - stamp -u ' "$LIB_TMP/autopkgtest/serve-stdout" 2>/dev/null &&
    grep -q '^ok - stamp -p ' "$LIB_TMP/autopkgtest/serve-stdout"
ok $? "autopkgtest: the installed stamp read the time over TCP and UDP"
lib_wait 300 dpkg_free
lib_timeout 300 dpkg -P stampd > "$LIB_TMP/purge2.log" 2>&1
ok $? "dpkg -P stampd after autopkgtest" || diag_file "$LIB_TMP/purge2.log"
is "$(status)" not-installed "stampd is no longer installed"
not_mine

done_testing
