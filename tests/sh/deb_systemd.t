#!/bin/sh
# deb_systemd.t: the package's maintainer scripts under a real systemd.
#
# A Debian 12 root with systemd, made by mmdebstrap from Debian's packages
# and kept in build/cache (made once, then reused), boots in
# systemd-nspawn: its own PID 1, its own network namespace (loopback only,
# so port 1937 is its own), the root an overlay that the boot leaves as it
# was.  The test enters it with nsenter and checks what the package's
# scripts do there:
#   dpkg -i      stampd.socket enabled and listening; the first request
#                starts stampd.service, which answers over TCP and UDP as a
#                user systemd made up (DynamicUser=yes, so the unit's
#                sandbox runs for real);
#   upgrade      (the same package as version +t1) the service is running
#                again afterwards, a new process, and answers; stampbench
#                -c 64, asking over TCP and UDP all through it, gets a good
#                reply every time, as stampd.socket holds the sockets;
#   reload       systemctl reload: stampd execs its binary again in place
#                (SIGUSR2) under the unit's sandbox, the same MainPID, with
#                every reply good through it; with a bad line in
#                /etc/stampd/conf.d the reload fails, the journal names
#                FILE:LINE, and the same stampd serves on;
#   NTP          stampd-ntp.socket enabled exactly as docs/deploy.md says,
#                systemd-timesyncd in the container asking 127.0.0.1: with
#                --local-stratum 8 it takes stampd's replies (stratum 8,
#                leap 0) and stampd counts them; without, where the kernel
#                says the clock is unsynchronized, it refuses them (leap 3),
#                and where synchronized, takes them at stratum 3.  It cannot
#                set the clock (nspawn keeps CAP_SYS_TIME), so only what it
#                judges is asserted, and that the kernel's clock state is
#                as it was;
#   NTS          the drop-in, stampd-nts.socket and the commands of
#                docs/deploy.md as written, with a certificate this test
#                makes: stamp -P nts, in the container's network, gets
#                authenticated time from the service, whose user systemd
#                made up and handed the certificate as credentials; the
#                cookie secret is made 0600 in its state directory;
#   metrics      stampd-metrics.socket shipped off; enabled as the docs say,
#                with stampd.service stopped, a scrape is answered 200 with
#                the page, starting the service, before any client came;
#   dpkg -r      the socket and the service are stopped, the port closed;
#   dpkg -P      the enablement is gone;
#   masked       an admin's mask keeps a fresh install from serving.
# Needs root, as systemd-nspawn does.
. "$(dirname "$0")/../lib.sh"

lib_nspawn_need dpkg-buildpackage dpkg-deb python3 certtool
[ -n "$STAMPBENCH" ] && [ -x "$STAMPBENCH" ] ||
    bail "STAMPBENCH is not an executable: '$STAMPBENCH' (run through make check)"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${STAMP_CACHE:-$TOP/build/cache}

# ---- the package, and an upgrade of it ---------------------------------------

VERSION=$(dpkg-parsechangelog -l "$TOP/debian/changelog" -S Version)
ARCH=$(dpkg --print-architecture)
SRC=$LIB_TMP/src/stampd-$VERSION
PKG=$LIB_TMP/pkg
mkdir -p "$SRC" "$PKG" &&
    tar -C "$TOP" --exclude=./build --exclude=./.git -cf - . |
    tar -C "$SRC" -xf -
ok $? "copy the work tree to $SRC"
(cd "$SRC" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS -u CC -u CFLAGS \
    -u LDFLAGS -u SAN -u O -u DESTDIR -u DEB_BUILD_OPTIONS \
    timeout "$(lib_scale 900)" dpkg-buildpackage -us -uc -b) \
    > "$LIB_TMP/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b" || {
	tail -n 30 "$LIB_TMP/build.log" > "$LIB_TMP/build.tail"
	diag_file "$LIB_TMP/build.tail"
	done_testing
}
V1=${VERSION}
V2=${VERSION}+t1
mv "$LIB_TMP/src/stampd_${V1}_$ARCH.deb" "$PKG/v1.deb"
# The upgrade: the same files and scripts under a higher version, which is
# all that dpkg and the scripts look at.
dpkg-deb -R "$PKG/v1.deb" "$LIB_TMP/v2" &&
    sed -i "s/^Version: .*/Version: $V2/" "$LIB_TMP/v2/DEBIAN/control" &&
    dpkg-deb -b "$LIB_TMP/v2" "$PKG/v2.deb" > /dev/null
ok $? "the same package as version $V2, to upgrade to"

# ---- the root, made once -----------------------------------------------------

# What the root holds beside minbase: systemd, what stampd's package
# depends on (liburing2), since dpkg -i installs no dependency, and
# systemd-timesyncd, an NTP client for stampd to serve (systemd only
# recommends it, and recommends are left out).  Others may use it once
# it is made.
lib_nspawn_root "$CACHE/nspawn-bookworm" \
    systemd,systemd-sysv,dbus,liburing2,systemd-timesyncd || done_testing
flock -u 8

# ---- boot --------------------------------------------------------------------

# Its own network: ports 1937 and 123 are the container's.
lib_nspawn_boot --private-network --bind-ro="$PKG:/pkg" || done_testing

# ask tcp|udp: the built stamp asks port 1937 on the container's loopback.
ask()
{
	local o=

	[ "$1" = udp ] && o=-u
	# $o is empty or one word.
	# shellcheck disable=SC2086
	lib_timeout 10 nsenter -t "$LIB_NSPAWN_INIT" -n "$STAMP" $o -t 5 \
	    127.0.0.1 2>> "$LIB_TMP/ask.err"
}

# asks WHAT: ask over TCP and UDP, each a test, the reply the time now.
asks()
{
	local t t0 t1 line

	for t in tcp udp; do
		t0=$(date +%s)
		line=$(ask $t)
		t1=$(date +%s)
		note "$1, $t: $line"
		within "${line%% *}" "$t0" "$t1" "$1: stamp reads the time over $t"
	done
}

# active UNIT: systemctl is-active's word for it.
active()
{
	lib_nspawn_in systemctl is-active "$1"
}

mainpid()
{
	lib_nspawn_in systemctl show -p MainPID --value stampd.service
}

# ---- first install -----------------------------------------------------------

lib_nspawn_in dpkg -i /pkg/v1.deb > "$LIB_TMP/i1.log" 2>&1
ok $? "dpkg -i stampd $V1" || diag_file "$LIB_TMP/i1.log"
is "$(lib_nspawn_in systemctl is-enabled stampd.socket)" enabled \
    "stampd.socket is enabled by the first install"
is "$(active stampd.socket)" active "stampd.socket is started by it"
asks "after the install"
is "$(active stampd.service)" active \
    "the first request started stampd.service"
pid1=$(mainpid)
uid=$(lib_nspawn_in awk '/^Uid:/ { print $2 }' "/proc/$pid1/status")
case $uid in
'' | 0) false ;;
esac
ok $? "stampd.service runs as a user systemd made up (uid $uid), not root"

# ---- upgrade -----------------------------------------------------------------

# load TRANSPORT ARG...: stampbench in the container's network, asking
# until unload stops it: an upgrade on a busy machine may take any time,
# and the load must outlast it (-d is only a bound, as LIB_LIFETIME is).
load()
{
	local t="$1"

	shift
	lib_spawn "$LIB_TMP/up.$t" nsenter -t "$LIB_NSPAWN_INIT" -n \
	    "$STAMPBENCH" -c 64 -d "$(lib_scale 1800)" "$@" 127.0.0.1 1937
}

# asking PID: the stampbench that load started as PID (timeout(1), whose
# child nsenter became, as it execs without a fork for -n alone) has
# sockets open (more fds than its three and an epoll), and so is asking.
asking()
{
	local kid

	kid=$(cat "/proc/$1/task/$1/children" 2>/dev/null)
	kid=${kid%% *}
	[ -n "$kid" ] &&
	    [ "$(ls "/proc/$kid/fd" 2>/dev/null | wc -l)" -gt 8 ]
}

# unload PID TRANSPORT WHAT: stop that stampbench (SIGTERM: it prints its
# summary and exits 1, as interrupted) and judge its RESULT line: good
# replies, and no bad one and no error all the while.
unload()
{
	local res

	lib_stop "$1"
	res=$(grep '^RESULT ' "$LIB_TMP/up.$2")
	printf '%s\n' "$res" | grep -Eq ' ok=[1-9][0-9]* bad=0 errors=0 '
	ok $? "stampbench -c 64 over $2 $3: every reply good" ||
	    diag_file "$LIB_TMP/up.$2"
	note "  $res"
}

# The postinst restarts stampd.service alone; the socket never closes.
load tcp
b1=$LIB_PID
load udp -u
b2=$LIB_PID
lib_wait 10 asking "$b1" && lib_wait 10 asking "$b2"
ok $? "stampbench asks over TCP and UDP before the upgrade"
lib_nspawn_in dpkg -i /pkg/v2.deb > "$LIB_TMP/i2.log" 2>&1
ok $? "dpkg -i stampd $V2: the upgrade" || diag_file "$LIB_TMP/i2.log"
lib_alive "$b1" && lib_alive "$b2"
ok $? "stampbench asked all through the upgrade" || {
	diag_file "$LIB_TMP/up.tcp"
	diag_file "$LIB_TMP/up.udp"
}
is "$(lib_nspawn_in dpkg-query -W -f='${Version}' stampd)" "$V2" \
    "$V2 is installed"
is "$(active stampd.socket) $(active stampd.service)" "active active" \
    "after the upgrade the socket and the service run again"
unload "$b1" tcp "through the upgrade"
unload "$b2" udp "through the upgrade"
pid2=$(mainpid)
[ -n "$pid2" ] && [ "$pid2" != 0 ] && [ "$pid2" != "$pid1" ]
ok $? "stampd.service was restarted: pid $pid1, then $pid2"
asks "after the upgrade"

# ---- reload ------------------------------------------------------------------

upgraded()
{
	[ "$(lib_nspawn_in journalctl -q -u stampd.service --no-pager |
	    grep -c 'upgraded: ')" -ge 1 ]
}

load tcp
b1=$LIB_PID
load udp -u
b2=$LIB_PID
lib_wait 10 asking "$b1" && lib_wait 10 asking "$b2"
ok $? "stampbench asks over TCP and UDP before the reload"
lib_nspawn_in systemctl reload stampd.service
ok $? "systemctl reload stampd.service"
lib_wait 10 upgraded
ok $? "stampd says it upgraded in place, under the unit's sandbox" || {
	lib_nspawn_in journalctl -q -u stampd.service --no-pager \
	    > "$LIB_TMP/j.log"
	diag_file "$LIB_TMP/j.log"
}
is "$(mainpid) $(active stampd.service)" "$pid2 active" \
    "the same MainPID, $pid2, still active"
unload "$b1" tcp "through the reload"
unload "$b2" udp "through the reload"

# ---- a reload with a bad configuration file ---------------------------------

# journal: the service's journal, on stdout.
journal()
{
	lib_nspawn_in journalctl -q -u stampd.service --no-pager
}

lib_nspawn_in dpkg-query -W -f '${Conffiles}\n' stampd |
    grep -q '^ /etc/stampd/stampd.conf '
ok $? "/etc/stampd/stampd.conf is a conffile of the package"
n=$(journal | grep -c 'upgraded: ')
lib_nspawn_in sh -c 'echo "workers 0" > /etc/stampd/conf.d/50-bad.conf'
lib_nspawn_in systemctl reload stampd.service > "$LIB_TMP/bad-reload.log" 2>&1
[ $? -ne 0 ]
ok $? "a bad line in conf.d: systemctl reload fails" ||
    diag_file "$LIB_TMP/bad-reload.log"
journal | grep -q '/etc/stampd/conf.d/50-bad.conf:1: --workers 0'
ok $? "  ... the journal names FILE:LINE" || {
	journal > "$LIB_TMP/j.log"
	diag_file "$LIB_TMP/j.log"
}
is "$(mainpid) $(active stampd.service) $(journal | grep -c 'upgraded: ')" \
    "$pid2 active $n" "  ... no upgrade: MainPID $pid2 still active"
asks "after the failed reload"
lib_nspawn_in rm /etc/stampd/conf.d/50-bad.conf
ok $? "  ... the bad file removed"

# ---- NTP, served as docs/deploy.md says, to systemd-timesyncd ----------------

# opts OPTS: STAMPD_OPTS="OPTS" after what the package's
# /etc/default/stampd says (the last assignment wins), then a restart of
# stampd.service; SPID is its new MainPID.
opts()
{
	lib_nspawn_in sh -c "cp /run/stampd.default /etc/default/stampd &&
	    echo 'STAMPD_OPTS=\"$1\"' >> /etc/default/stampd &&
	    systemctl restart stampd.service" > "$LIB_TMP/opts.log" 2>&1
	ok $? "STAMPD_OPTS=\"$1\", systemctl restart stampd.service" ||
	    diag_file "$LIB_TMP/opts.log"
	SPID=$(mainpid)
}

# slog: what stampd's current process has logged.
slog()
{
	lib_nspawn_in journalctl -q -o cat --no-pager "_PID=$SPID"
}

serves_ntp()
{
	slog | grep -Eq '^(stampd: )?listening udp .*:123 ntp$'
}

nstats()
{
	slog | grep -c 'stats: accepted'
}

more_stats()
{
	[ "$(nstats)" -gt "$1" ]
}

# replies: SIGUSR1 makes stampd log its counters; NTP is its count of NTP
# replies, from that line, or empty if none came.
replies()
{
	local n

	NTP=
	n=$(nstats)
	lib_nspawn_in systemctl kill -s USR1 --kill-who=main stampd.service
	lib_wait 10 more_stats "$n" || return 1
	NTP=$(slog | sed -n 's/.*stats: .* ntp \([0-9]*\)).*/\1/p' | tail -n 1)
}

# timesyncd: restart it; TPID is its new MainPID.
timesyncd()
{
	lib_nspawn_in systemctl restart systemd-timesyncd.service \
	    > "$LIB_TMP/ts.log" 2>&1
	ok $? "systemctl restart systemd-timesyncd.service" ||
	    diag_file "$LIB_TMP/ts.log"
	TPID=$(lib_nspawn_in systemctl show -p MainPID --value \
	    systemd-timesyncd.service)
}

tlog()
{
	lib_nspawn_in journalctl -q -o cat --no-pager "_PID=$TPID"
}

# judged: timesyncd took a reply of stampd's, or refused one.
judged()
{
	tlog | grep -Eq \
	    '^(Contacted time server 127\.0\.0\.1:123 |Server (is not|has))'
}

contacted()
{
	tlog | grep -q '^Contacted time server 127\.0\.0\.1:123 '
}

clock0=$(lib_kclock)
note "the kernel's clock state (ntp_adjtime state, STA_UNSYNC): $clock0"
lib_nspawn_in cp /etc/default/stampd /run/stampd.default
ok $? "keep the package's /etc/default/stampd aside"

# doc END K: the K-th indented block of docs/deploy.md after the line that
# ends with the text END, so that the doc is what is tested: for
# stampd-ntp.socket, 1 is the unit, 2 the commands that enable it.
doc()
{
	DOC_END=$1 awk -v k="$2" 'f && /^    / {
		if (!in_b) {
			b++
			in_b = 1
		}
		if (b == k) {
			sub(/^    /, "")
			print
		}
		next
	}
	f && /[^ ]/ {
		in_b = 0
		if (b >= k)
			exit
	}
	{
		e = ENVIRON["DOC_END"]
		if (length($0) >= length(e) &&
		    substr($0, length($0) - length(e) + 1) == e)
			f = 1
	}' "$TOP/docs/deploy.md"
}

# enable_as_doc UNIT SCRIPT: the socket unit in $LIB_TMP/UNIT written
# where docs/deploy.md puts it, then the doc's commands in $LIB_TMP/SCRIPT
# run in the container: they work, and UNIT listens.
enable_as_doc()
{
	lib_nspawn_in sh -c "cat > /etc/systemd/system/$1" < "$LIB_TMP/$1" &&
	    lib_nspawn_in sh -ex < "$LIB_TMP/$2" > "$LIB_TMP/$2.log" 2>&1
	ok $? "the commands of docs/deploy.md enable $1" || {
		lib_nspawn_in journalctl -q --no-pager -n 20 > "$LIB_TMP/j.log"
		diag_file "$LIB_TMP/$2.log"
		diag_file "$LIB_TMP/j.log"
	}
	is "$(active "$1")" active "$1 is listening"
}

NTPDOC='`/etc/systemd/system/stampd-ntp.socket`:'
doc "$NTPDOC" 1 > "$LIB_TMP/stampd-ntp.socket"
doc "$NTPDOC" 2 > "$LIB_TMP/enable.sh"
grep -qx 'ListenDatagram=123' "$LIB_TMP/stampd-ntp.socket" &&
    grep -qx 'FileDescriptorName=ntp' "$LIB_TMP/stampd-ntp.socket" &&
    grep -q 'enable --now stampd-ntp\.socket' "$LIB_TMP/enable.sh"
ok $? "docs/deploy.md gives stampd-ntp.socket and how to enable it" || {
	diag_file "$LIB_TMP/stampd-ntp.socket"
	diag_file "$LIB_TMP/enable.sh"
}
enable_as_doc stampd-ntp.socket enable.sh

# timesyncd asks 127.0.0.1 alone.  Its unit runs nowhere but on a
# machine's own clock: not in a container, not without CAP_SYS_TIME, which
# systemd-nspawn withholds, rightly: the clock is this machine's.  So the
# drop-in lifts both conditions and asks for no capability: timesyncd
# judges stampd's replies as it would anywhere, and its clock_adjtime is
# refused (EPERM), which leaves this machine's clock alone.  At debug level
# it says why it refuses a server.
cat > "$LIB_TMP/ts-unit.conf" <<'CONF'
[Unit]
ConditionVirtualization=
ConditionCapability=
[Service]
AmbientCapabilities=
Environment=SYSTEMD_LOG_LEVEL=debug
CONF
cat > "$LIB_TMP/ts.conf" <<'CONF'
[Time]
NTP=127.0.0.1
CONF
d=/etc/systemd/system/systemd-timesyncd.service.d
lib_nspawn_in mkdir -p "$d" /etc/systemd/timesyncd.conf.d &&
    lib_nspawn_in sh -c "cat > $d/stampd-test.conf" < "$LIB_TMP/ts-unit.conf" &&
    lib_nspawn_in sh -c 'cat > /etc/systemd/timesyncd.conf.d/stampd.conf' \
    < "$LIB_TMP/ts.conf" &&
    lib_nspawn_in systemctl daemon-reload
ok $? "timesyncd asks 127.0.0.1, and may run in the container"

# With --local-stratum 8 timesyncd takes stampd's time.
opts "--local-stratum 8"
lib_wait 10 serves_ntp
ok $? "stampd serves ntp on the socket of stampd-ntp.socket" || {
	slog > "$LIB_TMP/s.log"
	diag_file "$LIB_TMP/s.log"
}
replies
ok $? "stampd logs its counters on SIGUSR1"
n0=$NTP
timesyncd
lib_wait 60 judged
contacted
ok $? "timesyncd takes stampd's time: Contacted time server 127.0.0.1:123" || {
	tlog > "$LIB_TMP/t.log"
	diag_file "$LIB_TMP/t.log"
}
ts=$(lib_nspawn_in timedatectl show-timesync)
note "$ts"
like "$ts" '^ServerAddress=127\.0\.0\.1$' \
    "timedatectl show-timesync: ServerAddress=127.0.0.1"
msg=$(printf '%s\n' "$ts" | sed -n 's/^NTPMessage=//p')
like "$msg" '^\{ Leap=0, Version=4, Mode=4, Stratum=8, ' \
    "the reply it took: leap 0, NTPv4, mode 4, stratum 8"
like "$msg" 'Ignored=no' "and timesyncd did not ignore it"
replies
[ -n "$NTP" ] && [ -n "$n0" ] && [ "$NTP" -gt "$n0" ]
ok $? "stampd counts NTP replies: $n0, then $NTP"
tlog | grep -q 'clock_adjtime.*Operation not permitted' &&
    note "timesyncd could not set the clock (no CAP_SYS_TIME), as meant"

# Without it, stampd serves what the kernel says of the clock.
opts ""
lib_wait 10 serves_ntp
ok $? "stampd serves ntp without --local-stratum"
replies
n0=$NTP
timesyncd
lib_wait 60 judged
if lib_synced "$clock0"; then
	contacted
	ok $? "a synchronized clock: timesyncd takes it" || {
		tlog > "$LIB_TMP/t.log"
		diag_file "$LIB_TMP/t.log"
	}
	like "$(lib_nspawn_in timedatectl show-timesync -p NTPMessage \
	    --value)" '^\{ Leap=[0-2], Version=4, Mode=4, Stratum=3, ' \
	    "at stratum 3"
else
	tlog | grep -q '^Server is not synchronized' && ! contacted
	ok $? "an unsynchronized clock: timesyncd refuses it" || {
		tlog > "$LIB_TMP/t.log"
		diag_file "$LIB_TMP/t.log"
	}
fi
replies
[ -n "$NTP" ] && [ -n "$n0" ] && [ "$NTP" -gt "$n0" ]
ok $? "stampd answered it all the same: NTP replies $n0, then $NTP"
is "$(lib_kclock)" "$clock0" "the kernel's clock state is as it was"

# ---- NTS, served as docs/deploy.md says, to stamp -P nts ---------------------

lib_nts_cert "$LIB_TMP/nts" "stampd deb_systemd.t CA"
ok $? "certtool makes a CA and a certificate for 127.0.0.1" ||
    diag_file "$LIB_TMP/nts/certtool.out"
NTSDOC='`/etc/systemd/system/stampd-nts.socket`:'
doc '(`systemctl edit stampd.service`):' 1 > "$LIB_TMP/nts.conf"
doc "$NTSDOC" 1 > "$LIB_TMP/stampd-nts.socket"
doc "$NTSDOC" 2 > "$LIB_TMP/nts-enable.sh"
cert=$(sed -n 's/^LoadCredential=tls-cert://p' "$LIB_TMP/nts.conf")
key=$(sed -n 's/^LoadCredential=tls-key://p' "$LIB_TMP/nts.conf")
[ -n "$cert" ] && [ -n "$key" ] &&
    grep -q '^StateDirectory=' "$LIB_TMP/nts.conf" &&
    grep -qx 'FileDescriptorName=nts-ke' "$LIB_TMP/stampd-nts.socket" &&
    grep -q 'enable --now .*stampd-nts\.socket' "$LIB_TMP/nts-enable.sh"
ok $? "docs/deploy.md gives the drop-in, stampd-nts.socket and the commands" ||
    for f in nts.conf stampd-nts.socket nts-enable.sh; do
	diag_file "$LIB_TMP/$f"
    done
# The certificate and its key where the drop-in says, root's alone.
u=/etc/systemd/system
lib_nspawn_in sh -c "umask 077 && mkdir -p ${cert%/*} ${key%/*} &&
    cat > $cert" < "$LIB_TMP/nts/server.pem" &&
    lib_nspawn_in sh -c "umask 077 && cat > $key" < "$LIB_TMP/nts/server.key" &&
    lib_nspawn_in sh -c "mkdir -p $u/stampd.service.d &&
    cat > $u/stampd.service.d/nts.conf" < "$LIB_TMP/nts.conf"
ok $? "the certificate, its key and the drop-in where the doc puts them"
enable_as_doc stampd-nts.socket nts-enable.sh
# The key establishment on 4460 starts the service; the time on 123, which
# stampd-ntp.socket holds, may say the clock is unsynchronized here.
out=$(lib_timeout 30 nsenter -t "$LIB_NSPAWN_INIT" -n "$STAMP" -P nts \
    --unsynced --ca "$LIB_TMP/nts/ca.pem" 127.0.0.1 2>&1)
note "stamp -P nts: $out"
like "$out" 'authenticated \(NTS\)' \
    "stamp -P nts gets authenticated time from stampd.service" || {
	lib_nspawn_in journalctl -q -o cat --no-pager -n 30 -u stampd.service \
	    > "$LIB_TMP/s.log"
	diag_file "$LIB_TMP/s.log"
}
is "$(lib_nspawn_in stat -L -c %a /var/lib/stampd/nts.key 2>&1)" 600 \
    "the cookie secret is made 0600 in the service's state directory"

# Back to what the package does alone, for what follows.
lib_nspawn_in sh -c "systemctl stop systemd-timesyncd.service &&
    systemctl disable --now stampd-ntp.socket stampd-nts.socket &&
    rm -rf $u/stampd-ntp.socket $u/stampd-nts.socket \
    $u/stampd.service.d $d /etc/systemd/timesyncd.conf.d/stampd.conf \
    ${cert%/*} ${key%/*} &&
    cp /run/stampd.default /etc/default/stampd &&
    systemctl daemon-reload && systemctl restart stampd.service" \
    > "$LIB_TMP/undo.log" 2>&1
ok $? "the NTP and NTS sockets, the options and timesyncd's settings undone" ||
    diag_file "$LIB_TMP/undo.log"

# ---- the metrics socket: shipped off; on, a scrape is answered first ---------

is "$(lib_nspawn_in systemctl is-enabled stampd-metrics.socket)" disabled \
    "stampd-metrics.socket is shipped off"
lib_nspawn_in sh -c "systemctl stop stampd.service &&
    systemctl enable --now stampd-metrics.socket" > "$LIB_TMP/m.log" 2>&1
ok $? "stampd.service stopped, stampd-metrics.socket enabled as documented" ||
    diag_file "$LIB_TMP/m.log"
is "$(active stampd.service)" inactive "no client has come: no stampd runs"
# GET /metrics on the container's 127.0.0.1:9137, from this host's python3
# in the container's network.
lib_scrape 9137 "" "$LIB_NSPAWN_INIT" > "$LIB_TMP/scrape" \
    2> "$LIB_TMP/scrape.err"
like "$(sed -n 1p "$LIB_TMP/scrape")" '^HTTP/1\.[01] 200 ' \
    "a scrape before any client is answered 200" ||
    diag_file "$LIB_TMP/scrape.err"
grep -q '^stampd_build_info{' "$LIB_TMP/scrape"
ok $? "  ... with the page (stampd_build_info)" || diag_file "$LIB_TMP/scrape"
is "$(active stampd.service)" active "  ... and it started stampd.service"
asks "with the metrics socket"
lib_nspawn_in sh -c "systemctl disable --now stampd-metrics.socket &&
    systemctl restart stampd.service" > "$LIB_TMP/m2.log" 2>&1
ok $? "the metrics socket turned off again" || diag_file "$LIB_TMP/m2.log"

# ---- remove, purge -----------------------------------------------------------

lib_nspawn_in dpkg -r stampd > "$LIB_TMP/r.log" 2>&1
ok $? "dpkg -r stampd" || diag_file "$LIB_TMP/r.log"
is "$(active stampd.socket) $(active stampd.service)" "inactive inactive" \
    "dpkg -r stops the socket and the service"
ask tcp > /dev/null
isnt=$?
[ $isnt != 0 ]
ok $? "port 1937 no longer answers over TCP"
lib_nspawn_in dpkg -P stampd > "$LIB_TMP/p.log" 2>&1
ok $? "dpkg -P stampd" || diag_file "$LIB_TMP/p.log"
lib_nspawn_in test ! -e /etc/systemd/system/sockets.target.wants/stampd.socket
ok $? "dpkg -P removes the enablement"

# ---- an admin who wants it off -----------------------------------------------

lib_nspawn_in systemctl mask --quiet stampd.socket stampd.service 2> /dev/null
lib_nspawn_in dpkg -i /pkg/v1.deb > "$LIB_TMP/i3.log" 2>&1
ok $? "dpkg -i stampd $V1 with both units masked" || diag_file "$LIB_TMP/i3.log"
is "$(active stampd.socket)" inactive "the masked socket is not started"
ask tcp > /dev/null
[ $? != 0 ]
ok $? "and port 1937 does not answer"
lib_nspawn_in dpkg -P stampd > "$LIB_TMP/p2.log" 2>&1
ok $? "dpkg -P stampd" || diag_file "$LIB_TMP/p2.log"

# ---- shut down ---------------------------------------------------------------

lib_nspawn_off

done_testing
