# tests/lib.sh: what the shell tests share.  Source it, do not run it.
#
# TAP: plan, ok, is, like, within, skip, diag, note, done_testing, bail.
# Patience: every bound on a wait is scaled by STAMP_TIMEOUT_SCALE (a
# positive number, 1 unless set; make check SAN=1 sets 3), as the C tests'
# h_ms does: lib_scale N prints N times it, lib_timeout SECS CMD runs CMD
# under timeout(1) for SECS scaled, lib_wait SECS CMD retries CMD every
# 0.1 s for at most SECS scaled.  Tools: lib_need TOOL... bails out naming
# the first one missing (tests/deps.sh installs them all); lib_nts_cert
# makes a CA and a server's certificate for NTS.
# Processes: lib_spawn starts one in the background under timeout(1), so
# that it cannot outlive a test that is itself killed (it gets at most
# LIB_LIFETIME seconds, 600 unless set, scaled); lib_stop stops it by its
# pid (TERM, a 5 s deadline scaled, then KILL); the EXIT trap stops
# whatever is left and removes the test's temporary directory.
# stampd: stampd_start runs "$STAMPD" with the given arguments, waits at
# most 5 s (scaled) for one `listening` line per -l, and stampd_port reads
# a port back from those lines: stampd binds port 0 and says which port it
# got, so no test ever guesses a free port for it.  Nothing here ever uses
# an address but loopback; that is the caller's promise, kept by passing
# only 127.0.0.1 and ::1.  lib_scrape asks a metrics listener over HTTP.
# Containers: lib_nspawn_need, lib_nspawn_root, lib_nspawn_boot,
# lib_nspawn_in and lib_nspawn_off make a Debian 12 root with systemd once,
# boot it in systemd-nspawn, run commands in it and power it off.

# rdate and xinetd live in sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH
# Month names, decimal points and date(1)'s parser must not vary.
LC_ALL=C
export LC_ALL

LIB_N=0			# tests run so far
LIB_FAIL=0		# of which failed
LIB_PLAN=		# set by plan
LIB_PIDS=		# what lib_spawn started and lib_stop has not reaped
LIB_USERS=		# what lib_user made, removed at the end
LIB_SEQ=0
LIB_PID=
LIB_BIN=		# lib_stampd_reachable's copy of stampd, if any
LIB_TMP=$(mktemp -d "${TMPDIR:-/tmp}/stampd-test.XXXXXX") || {
	echo "Bail out! mktemp -d failed"
	exit 255
}

# ---- TAP -----------------------------------------------------------------

plan()
{
	LIB_PLAN=$1
	echo "1..$1"
}

# Each argument a line of TAP comment, on stderr as tap.h does.
diag()
{
	printf '%s\n' "$@" | sed 's/^/# /' >&2
}

# The same, on stdout: for what a reader of the verbose output wants to see.
note()
{
	printf '%s\n' "$@" | sed 's/^/# /'
}

# diag_file FILE: a file's content, for the reason of a failure.
diag_file()
{
	if [ -s "$1" ]; then
		sed 's/^/#   /' "$1" >&2
	else
		echo "#   ($1 is empty)" >&2
	fi
}

# ok STATUS DESCRIPTION: passes when STATUS is 0; returns 0 or 1 likewise.
ok()
{
	LIB_N=$((LIB_N + 1))
	if [ "$1" = 0 ]; then
		printf 'ok %d - %s\n' "$LIB_N" "$2"
		return 0
	fi
	printf 'not ok %d - %s\n' "$LIB_N" "$2"
	LIB_FAIL=$((LIB_FAIL + 1))
	return 1
}

# is GOT WANT DESCRIPTION
is()
{
	[ "$1" = "$2" ]
	ok $? "$3" && return 0
	diag "     got: '$1'" "expected: '$2'"
	return 1
}

# like GOT EXTENDED-REGEX DESCRIPTION
like()
{
	printf '%s\n' "$1" | grep -Eq -- "$2"
	ok $? "$3" && return 0
	diag "                  '$1'" "doesn't match '$2'"
	return 1
}

# within T FROM TO DESCRIPTION: T, a Unix time, was read between FROM and
# TO (date +%s taken before and after), give or take 2 s for the truncation
# to whole seconds on both sides.
within()
{
	case $1$2$3 in
	'' | *[!0-9]*)
		ok 1 "$4"
		diag "not whole seconds: '$1' in ['$2', '$3']"
		return 1
		;;
	esac
	[ "$1" -ge $(($2 - 2)) ] && [ "$1" -le $(($3 + 2)) ]
	ok $? "$4" && return 0
	diag "$1 is not within [$2 - 2, $3 + 2]" \
	    "(off by $(($1 - $2)) s from the start)"
	return 1
}

# skip DESCRIPTION REASON: counted and shown as skipped, never as passed.
skip()
{
	LIB_N=$((LIB_N + 1))
	printf 'ok %d - %s # skip %s\n' "$LIB_N" "$1" "$2"
}

# done_testing: the plan (unless given first) and the exit status.
done_testing()
{
	[ -n "$LIB_PLAN" ] || echo "1..$LIB_N"
	if [ -n "$LIB_PLAN" ] && [ "$LIB_PLAN" -ne "$LIB_N" ]; then
		diag "planned $LIB_PLAN tests but ran $LIB_N"
		exit 1
	fi
	[ "$LIB_FAIL" -eq 0 ] || diag "failed $LIB_FAIL of $LIB_N"
	[ "$LIB_FAIL" -eq 0 ] && exit 0
	exit 1
}

bail()
{
	printf 'Bail out! %s\n' "$*"
	exit 255
}

# ---- patience and tools --------------------------------------------------

# STAMP_TIMEOUT_SCALE: how much slower than usual this machine or build
# may be.  awk does the arithmetic, since the shell has no fractions.
LIB_SCALE=${STAMP_TIMEOUT_SCALE:-1}
awk -v s="$LIB_SCALE" 'BEGIN {
	re = "^([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?$"
	exit !(s ~ re && s + 0 > 0)
}' || bail "STAMP_TIMEOUT_SCALE=$LIB_SCALE: want a positive number"

# lib_scale N: N (a whole number or not) times STAMP_TIMEOUT_SCALE,
# rounded up to a whole number, at least 1 when N is above 0.
lib_scale()
{
	case $1$LIB_SCALE in
	*[!0-9]*)
		awk -v n="$1" -v s="$LIB_SCALE" 'BEGIN {
			v = n * s
			r = int(v)
			if (r < v)
				r++
			print r
		}'
		;;
	*)
		echo $(($1 * LIB_SCALE))
		;;
	esac
}

# lib_timeout SECS CMD [ARG...]: CMD under timeout(1), SECS scaled.
lib_timeout()
{
	local secs

	secs=$(lib_scale "$1")
	shift
	timeout "$secs" "$@"
}

# lib_wait SECS CMD [ARG...]: run CMD every 0.1 s until it succeeds, for at
# most SECS (scaled); returns 0 once it did, 1 if it never did.
lib_wait()
{
	local n i=0

	n=$(lib_scale "$1")
	n=$((n * 10))
	shift
	until "$@"; do
		[ $i -lt $n ] || return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# lib_need TOOL...: each TOOL is a command here, or the test bails out
# naming it, rather than fail later as if something else were wrong.
# lib_in_chroot: an ancestor of ours has another root than ours: we run
# in a chroot, such as a fresh mmdebstrap root that make check is tried
# in.  (Pid 1 is left out: a sandbox may not let us read its root.)
lib_in_chroot()
{
	local me p=$$ root

	me=$(stat -c %d:%i /)
	while [ "${p:-1}" -gt 1 ]; do
		root=$(stat -c %d:%i "/proc/$p/root/." 2>/dev/null)
		[ -z "$root" ] || [ "$root" = "$me" ] || return 0
		p=$(awk '/^PPid:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
	done
	return 1
}

# lib_no_chroot WHAT: a test that boots a container cannot run inside a
# chroot (no cgroups, no init of its own to nest under): it says so and
# counts as skipped, never as passed.
lib_no_chroot()
{
	if lib_in_chroot; then
		echo "1..0 # SKIP inside a chroot $1 cannot run; it runs on the machine itself (CI)"
		exit 0
	fi
}

# lib_kclock: what the kernel says of the clock (ntp_adjtime, changing
# nothing), as "STATE UNSYNC": its state (5 is TIME_ERROR) and STA_UNSYNC
# (1 if set).  What stampd reads to say how good its clock is.
lib_kclock()
{
	python3 -c '
import ctypes
class T(ctypes.Structure):
	_fields_ = [("modes", ctypes.c_uint), ("l", ctypes.c_long * 4),
	    ("status", ctypes.c_int), ("pad", ctypes.c_char * 256)]
t = T()
state = ctypes.CDLL(None).adjtimex(ctypes.byref(t))
print(state, 1 if t.status & 0x40 else 0)'
}

# lib_synced [KCLOCK]: whether lib_kclock's answer (now, if none is given)
# is what stampd calls synchronized: not TIME_ERROR, STA_UNSYNC clear.
lib_synced()
{
	case ${1:-$(lib_kclock)} in
	'5 '* | *' 1' | '') return 1 ;;
	esac
}

lib_need()
{
	local t

	for t; do
		command -v "$t" > /dev/null 2>&1 ||
		    bail "$t not found (tests/deps.sh installs it)"
	done
}

# lib_nts_cert DIR CA-NAME: with GnuTLS's certtool, a CA called CA-NAME
# and a TLS server's certificate it signed for localhost and 127.0.0.1,
# each with its ECDSA P-256 key and valid for 2 days: DIR/ca.pem and
# ca.key, DIR/server.pem and server.key (DIR is made if need be).  What
# certtool said goes to DIR/certtool.out; returns 1 when it failed.  The
# one recipe of the NTS tests and of bench/run.sh's nts section.
lib_nts_cert()
{
	local d="$1" k

	mkdir -p "$d" || return 1
	printf '%s\n' "cn = \"$2\"" ca cert_signing_key 'expiration_days = 2' \
	    > "$d/ca.tmpl"
	printf '%s\n' 'cn = "localhost"' 'dns_name = "localhost"' \
	    'ip_address = "127.0.0.1"' tls_www_server signing_key \
	    encryption_key 'expiration_days = 2' > "$d/server.tmpl"
	{
		for k in ca server; do
			certtool --generate-privkey --key-type=ecdsa \
			    --curve=secp256r1 --outfile "$d/$k.key" || return 1
		done
		certtool --generate-self-signed --load-privkey "$d/ca.key" \
		    --template "$d/ca.tmpl" --outfile "$d/ca.pem" &&
		    certtool --generate-certificate \
		    --load-privkey "$d/server.key" \
		    --load-ca-certificate "$d/ca.pem" \
		    --load-ca-privkey "$d/ca.key" \
		    --template "$d/server.tmpl" --outfile "$d/server.pem"
	} > "$d/certtool.out" 2>&1
}

# ---- processes -----------------------------------------------------------

# lib_alive PID: the process runs (a zombie does not count).
lib_alive()
{
	local line state

	{ read -r line < "/proc/$1/stat"; } 2>/dev/null || return 1
	# The name in parentheses may hold spaces: the state follows ") ".
	state=${line##*) }
	state=${state%% *}
	[ -n "$state" ] && [ "$state" != Z ]
}

# lib_spawn LOG CMD [ARG...]: start CMD in the background, its stdout and
# stderr into LOG; sets LIB_PID.  Call it from the test's own shell, never
# inside $( ), so that lib_stop can wait for it.  timeout(1) makes the pid
# the leader of a process group of its own, which lib_stop's KILL uses.
lib_spawn()
{
	local log="$1"

	shift
	: > "$log"
	timeout -k 5 "$(lib_scale "${LIB_LIFETIME:-600}")" "$@" > "$log" 2>&1 &
	LIB_PID=$!
	LIB_PIDS="$LIB_PIDS $LIB_PID"
}

# lib_gone PID: the process is not running (lib_alive's negation).
lib_gone()
{
	! lib_alive "$1"
}

# lib_stop PID: TERM, at most 5 s (scaled) for it to go, then KILL its
# group.  Returns its exit status (a signal's is 128 + its number).
lib_stop()
{
	local pid="$1" st p rest= kid

	# The program itself, timeout(1)'s child, gets the TERM: timeout,
	# told instead, would send TERM to the whole group, then CONT, then
	# KILL 5 s later, and a CONT in the middle of LeakSanitizer's
	# stop-the-world at exit (SAN=1) can hang it past that KILL.
	kid=$(cat "/proc/$pid/task/$pid/children" 2>/dev/null)
	kill -TERM ${kid:-"$pid"} 2>/dev/null
	if ! lib_wait 5 lib_gone "$pid"; then
		diag "pid $pid still runs $(lib_scale 5) s after TERM: KILL"
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid"
	fi
	wait "$pid"
	st=$?
	for p in $LIB_PIDS; do
		[ "$p" = "$pid" ] || rest="$rest $p"
	done
	LIB_PIDS=$rest
	return $st
}

# lib_keep_logs: the files the test wrote in its temporary directory (the
# logs of stampd and of the peers, what commands printed), copied under
# $STAMP_BUILD/tests/log (or /tmp) before the directory goes; a diagnostic
# says where.  Its subdirectories (source trees, roots) are left out.
lib_keep_logs()
{
	local dir

	dir=${STAMP_BUILD:-${TMPDIR:-/tmp}}/tests/log/$(basename "$0")-$$
	mkdir -p "$dir" &&
	    find "$LIB_TMP" -maxdepth 1 -type f -size -20M \
	    -exec cp -p {} "$dir" \; &&
	    diag "the logs of this test are kept in $dir:" \
	    "$(cd "$dir" && ls | tr '\n' ' ')"
}

# lib_user NAME: make NAME, a system user with a group of its own and no
# login, for this test alone (one a run killed before its end left goes
# first); lib_cleanup removes it, however the test ends.  Returns
# useradd's status, its words in $LIB_TMP/useradd.err.
lib_user()
{
	id "$1" > /dev/null 2>&1 && userdel "$1" > /dev/null 2>&1
	LIB_USERS="$LIB_USERS $1"
	useradd --system --no-create-home --user-group \
	    --shell /usr/sbin/nologin "$1" > "$LIB_TMP/useradd.err" 2>&1
}

# The EXIT trap: stop what is left; keep the logs of a test that failed
# (an assertion, or its exit status: a bail out, a killed shell).  A test
# with a trap of its own calls it last, with the status it exits with.
lib_cleanup()
{
	local st=${1:-$?} p

	for p in $LIB_PIDS; do
		lib_stop "$p"
	done
	for p in $LIB_USERS; do
		if id "$p" > /dev/null 2>&1; then
			userdel "$p" > /dev/null 2>&1 ||
			    echo "# could not remove user $p" >&2
		fi
	done
	if [ "$LIB_FAIL" -gt 0 ] || [ "$st" != 0 ]; then
		lib_keep_logs
	fi
	rm -rf "$LIB_TMP"
	[ -z "$LIB_BIN" ] || rm -rf "$LIB_BIN"
}

trap lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# lib_stampd_reachable: run as root, stampd drops to an unprivileged user,
# and SIGUSR2 runs its binary again as that user (--check, then exec).  A
# build under a directory only root may enter (a clone in mktemp -d, as CI
# makes) cannot be run then, and every upgrade is refused, rightly.  For a
# test of upgrades, STAMPD becomes a copy of it in a directory anyone may
# enter, removed at exit.
lib_stampd_reachable()
{
	[ "$(id -u)" = 0 ] || return 0
	LIB_BIN=$(mktemp -d "${TMPDIR:-/tmp}/stampd-bin.XXXXXX") &&
	    chmod 755 "$LIB_BIN" && cp "$STAMPD" "$LIB_BIN/stampd" &&
	    chmod 755 "$LIB_BIN/stampd" ||
	    bail "cannot copy stampd where its unprivileged user can run it"
	STAMPD=$LIB_BIN/stampd
}

# lib_free_port tcp|udp: a port no socket on this machine uses, picked at
# random below the kernel's ephemeral range so that no client is handed it
# as its source port meanwhile.  Only for programs that cannot bind port 0
# and say which port they got (xinetd, haproxy, systemd-socket-activate):
# stampd always binds port 0.  The port is free when we look, not when the
# program binds it, so another process may take it meanwhile: every caller
# waits with lib_own_ports, which sees that, and starts again on new ports
# a bounded number of times, so that a collision costs a retry, never a
# failure.  It needs ss and od: a caller names them to lib_need first,
# since a bail out inside $( ) would go unseen.
lib_free_port()
{
	local lo base span n port i=0 f

	case $1 in
	tcp)	f=t ;;
	udp)	f=u ;;
	*)	return 1 ;;
	esac
	# dash's read takes a byte at a time, and a sysctl file answers one
	# read only: cut reads it whole.
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	base=20000
	span=12000
	[ "$lo" -gt 21024 ] && span=$((lo - base))
	while [ $i -lt 100 ]; do
		n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		port=$((base + n % span))
		if [ -z "$(timeout 10 ss -"$f"anH "sport = :$port" |
		    sed -n 1p)" ]; then
			echo "$port"
			return 0
		fi
		i=$((i + 1))
	done
	return 1
}

# lib_own_ports PID LOG t:PORT|u:PORT...: wait at most 5 s (scaled) until
# PID alone holds each port, TCP ones listening, on any address.  Returns
# 0 once it does; 2 if another process has a port (LOG says "Address
# already in use", or a socket of another process is bound to it: UDP
# sockets may share a port under SO_REUSEADDR), after stopping PID, so
# that the caller tries again on other ports; 1 if PID exits or time runs
# out.  The process that binds is PID itself or one of its children.
lib_own_ports()
{
	local pid="$1" log="$2" i=0 most a t p out all

	shift 2
	most=$(($(lib_scale 5) * 10))
	while [ $i -lt "$most" ]; do
		if grep -q 'Address already in use' "$log" 2>/dev/null; then
			lib_stop "$pid"
			return 2
		fi
		all=0
		for a; do
			t=${a%%:*}
			p=${a#*:}
			out=$(timeout 10 ss -"$t"lnpH "sport = :$p")
			[ -n "$out" ] || { all=1; break; }
			# Ours: timeout(1)'s pid, or a child's or grandchild's.
			if printf '%s\n' "$out" | awk -v a="pid=$pid," \
			    -v b="$(lib_children "$pid")" '
			    {
				n = split(b, k, " ")
				mine = index($0, a) > 0
				for (j = 1; j <= n; j++)
					if (index($0, "pid=" k[j] ","))
						mine = 1
				if (!mine)
					bad = 1
			    }
			    END { exit !bad }'; then
				note "port $p is shared with another process:" \
				    "$out"
				lib_stop "$pid"
				return 2
			fi
		done
		[ $all = 0 ] && return 0
		lib_alive "$pid" || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# lib_xinetd DIR PORT...: xinetd -dontfork on DIR/xinetd.conf, which binds
# each PORT (t:N or u:N, as lib_own_ports takes them), its log in
# DIR/xinetd.log.  Sets XPID.  Returns 0 once xinetd alone holds every port
# and has started working, within 5 s (scaled); 2 if a port was taken
# meanwhile (xinetd stopped: the caller tries other ports); 1 otherwise,
# said in diagnostics with xinetd's output, xinetd stopped.
lib_xinetd()
{
	local dir="$1" r

	shift
	rm -f "$dir/xinetd.log"
	lib_spawn "$dir/xinetd.out" xinetd -dontfork -f "$dir/xinetd.conf" \
	    -pidfile "$dir/xinetd.pid" -filelog "$dir/xinetd.log"
	XPID=$LIB_PID
	lib_own_ports "$XPID" "$dir/xinetd.log" "$@"
	r=$?
	if [ $r = 0 ] && lib_wait 5 grep -q 'Started working' \
	    "$dir/xinetd.log"; then
		return 0
	fi
	if [ $r = 2 ]; then
		note "a port was taken meanwhile: trying others"
		return 2
	fi
	if lib_alive "$XPID"; then
		diag "xinetd did not bind in $(lib_scale 5) s ($*):"
	else
		diag "xinetd exited before binding ($*):"
	fi
	diag_file "$dir/xinetd.out"
	diag_file "$dir/xinetd.log"
	lib_stop "$XPID"
	return 1
}

# lib_ask WHAT PORT ARG...: stamp ARG... -p PORT 127.0.0.1 exits 0 and its
# first line says now, from that port, in the protocol and transport that
# ARG asks for (-P, -u).
lib_ask()
{
	local what="$1" port="$2" out t0 t1 line re proto=stamp tr=tcp

	shift 2
	out=$LIB_TMP/stamp.out
	t0=$(date +%s)
	lib_timeout 10 "$STAMP" "$@" -p "$port" 127.0.0.1 > "$out" \
	    2> "$out.err"
	ok $? "$what: stamp ${*:+$* }-p $port 127.0.0.1 exits 0" ||
	    diag_file "$out.err"
	t1=$(date +%s)
	line=$(sed -n 1p "$out")
	note "stamp ${*:+$* }-p $port 127.0.0.1: $line"
	case " $* " in
	*" -P time "*)		proto=time ;;
	*" -P daytime "*)	proto=daytime ;;
	esac
	case " $* " in
	*" -u "*)	tr=udp ;;
	esac
	re="^[0-9]+ .* from 127\\.0\\.0\\.1:$port \\($proto/$tr\\)\$"
	like "$line" "$re" "$what: a $proto reply over $tr"
	within "${line%% *}" "$t0" "$t1" "$what: the time is now"
}

# lib_scrape PORT [REQUEST [PID]]: what the metrics listener on
# 127.0.0.1:PORT answers REQUEST (GET /metrics unless given; \r, \n and
# the like spelled as in C), headers and all, on stdout: python3 sends it,
# shuts its side and reads to the end (not nc -N, which may quit at the
# server's FIN before printing what came with it).  With PID, from within
# that process's network namespace (a container's).  Returns python3's
# status, or timeout(1)'s after 10 s (scaled).
lib_scrape()
{
	local ns=

	[ -z "$3" ] || ns="nsenter -t $3 -n"
	# $ns is empty or four words.
	# shellcheck disable=SC2086
	lib_timeout 10 $ns python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
s.shutdown(socket.SHUT_WR)
while True:
    b = s.recv(65536)
    if not b:
        break
    sys.stdout.buffer.write(b)
' "$1" "${2:-GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n}"
}

# lib_children PID: the pids whose parent is PID, and theirs, on one line.
lib_children()
{
	local f line rest ppid kids= more= k

	for f in /proc/[0-9]*/stat; do
		{ read -r line < "$f"; } 2>/dev/null || continue
		# The name in parentheses may hold spaces: the state follows
		# ") ", then the parent.
		rest=${line##*) }
		ppid=${rest#* }
		ppid=${ppid%% *}
		if [ "$ppid" = "$1" ]; then
			f=${f#/proc/}
			kids="$kids${f%/stat} "
		fi
	done
	[ -n "$2" ] || for k in $kids; do
		more="$more$(lib_children "$k" once)"
	done
	printf '%s' "$kids$more"
}

# ---- containers ----------------------------------------------------------

# A test that needs a whole machine (systemd as PID 1, units, a package's
# scripts) boots a Debian 12 root with systemd in systemd-nspawn and enters
# it with nsenter: lib_nspawn_need first, then lib_nspawn_root ROOT
# PACKAGES, lib_nspawn_boot ARG..., lib_nspawn_in CMD... as often as need
# be, and lib_nspawn_off last.  LIB_NSPAWN is systemd-nspawn's pid (as
# lib_spawn gave it), LIB_NSPAWN_INIT the container's PID 1 as this
# machine sees it, for nsenter -t.
LIB_NSPAWN=
LIB_NSPAWN_INIT=
LIB_NSPAWN_ROOT=

# lib_nspawn_need [TOOL...]: what booting a container takes, or the test
# goes no further: not a chroot (then it counts as skipped), root (then a
# failed test says so, and the test ends), mmdebstrap, systemd-nspawn,
# nsenter, flock and each TOOL (bail out naming the one missing).
lib_nspawn_need()
{
	local me

	me=$(basename "$0")
	lib_no_chroot "systemd-nspawn --boot"
	lib_need mmdebstrap systemd-nspawn nsenter flock "$@"
	if [ "$(id -u)" != 0 ]; then
		ok 1 "$me runs as root: systemd-nspawn boots a container"
		done_testing
	fi
}

# lib_nspawn_root ROOT PACKAGES: ROOT, a Debian 12 root of minbase and
# PACKAGES beside (comma-separated, systemd,systemd-sysv,dbus among them
# to boot it; no recommends), made by mmdebstrap unless it is there
# already, made from the same list (ROOT.include keeps it): one test
# either way.  First it takes the lock ROOT.lock on fd 8, waiting at most
# 30 min (scaled) for another run that makes or uses the root, and leaves
# it held: the caller lets others go on when it may (flock -u 8), or at
# its end.  Returns 1 when mmdebstrap failed, the end of its log shown.
lib_nspawn_root()
{
	local root="$1" include="$2"

	LIB_NSPAWN_ROOT=$root
	mkdir -p "$(dirname "$root")"
	exec 8> "$root.lock"
	flock -w "$(lib_scale 1800)" 8
	if [ -x "$root/lib/systemd/systemd" ] &&
	    [ "$(cat "$root.include" 2>/dev/null)" = "$include" ]; then
		ok 0 "the Debian 12 root with systemd is in $root already"
		return 0
	fi
	rm -rf "$root.new" "$root" "$root.include"
	lib_timeout 900 mmdebstrap --variant=minbase --include="$include" \
	    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
	    --aptopt='APT::Install-Recommends "false"' \
	    bookworm "$root.new" > "$LIB_TMP/mmdebstrap.log" 2>&1 &&
	    mv "$root.new" "$root" && echo "$include" > "$root.include"
	ok $? "mmdebstrap a Debian 12 root with systemd into $root" &&
	    return 0
	tail -n 30 "$LIB_TMP/mmdebstrap.log" > "$LIB_TMP/mm.tail"
	diag_file "$LIB_TMP/mm.tail"
	return 1
}

# lib_nspawn_in CMD [ARG...]: CMD in the container, its root, namespaces
# and all, under timeout(1) (120 s, scaled).
lib_nspawn_in()
{
	lib_timeout 120 nsenter -t "$LIB_NSPAWN_INIT" -a "$@"
}

# lib_nspawn_boot [ARG...]: boot lib_nspawn_root's root in systemd-nspawn
# (lib_spawn: LIB_LIFETIME bounds it), with ARG... (binds, a network of its
# own) beside what every container here has: --register=no --keep-unit,
# so that no machined nor system bus is needed; --volatile=overlay, so
# that what the test changes goes to a tmpfs, gone with the container;
# --console=passive, no terminal; and no fd 8, the lock.  Then three
# tests: its systemd starts (30 s, scaled), answers systemctl (60 s: its
# private socket comes a little after PID 1) and is up, running or
# degraded (its failed units are shown).  Sets LIB_NSPAWN and
# LIB_NSPAWN_INIT.  Returns 1 when no systemd started (systemd-nspawn's
# output shown): the container is of no use then.
lib_nspawn_boot()
{
	local what="systemd-nspawn --boot starts systemd" state

	lib_spawn "$LIB_TMP/nspawn.log" systemd-nspawn -q \
	    -D "$LIB_NSPAWN_ROOT" --boot --register=no --keep-unit \
	    --volatile=overlay --console=passive \
	    -M "stampd-$(basename "$0" .t | tr -c 'a-z0-9\n' -)-$$" "$@" 8>&-
	LIB_NSPAWN=$LIB_PID
	lib_wait 30 lib_nspawn_init
	ok $? "$what (pid $LIB_NSPAWN_INIT here)" || {
		diag_file "$LIB_TMP/nspawn.log"
		return 1
	}
	lib_wait 60 lib_nspawn_in test -S /run/systemd/private
	ok $? "the container's systemd answers systemctl"
	state=$(lib_nspawn_in systemctl is-system-running --wait)
	like "$state" '^(running|degraded)$' \
	    "the container's systemd is up: $state"
	if [ "$state" != running ]; then
		lib_nspawn_in systemctl --failed --no-legend > "$LIB_TMP/failed"
		diag_file "$LIB_TMP/failed"
	fi
	return 0
}

# lib_nspawn_init: the container's PID 1, systemd, a child of
# systemd-nspawn, into LIB_NSPAWN_INIT; returns 1 while there is none.
lib_nspawn_init()
{
	local p

	for p in $(lib_children "$LIB_NSPAWN"); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
			LIB_NSPAWN_INIT=$p
			return 0
		fi
	done
	return 1
}

# lib_nspawn_off: power the container off, a test that systemd-nspawn is
# gone within 30 s (scaled), then lib_stop it (reaped, or stopped).
lib_nspawn_off()
{
	lib_nspawn_in systemctl poweroff > /dev/null 2>&1
	lib_wait 30 lib_gone "$LIB_NSPAWN"
	ok $? "the container powers off"
	lib_stop "$LIB_NSPAWN" > /dev/null 2>&1
}

# ---- stampd --------------------------------------------------------------

# lib_models: the models stampd --help lists under --model, one a line,
# so that a model added later meets every test that goes over them.
lib_models()
{
	"$STAMPD" --help | awk '/--model/ { on = 1; next }
	    /^  -/ { on = 0 } on && NF > 1 { print $1 }'
}

# lib_model_args MODEL ARG...: the ARGs that MODEL takes, on one line.
# Each option that stampd --help gives a "taken by -m" line lacking MODEL
# is left out with its value (-w 2 for iterative, --max-workers 4 for
# prefork), but for -w beside --reuseport, which every model takes.  Read
# from --help, as lib_models is, so that a model added later needs no
# change.  The caller splits the line, so no ARG may hold a blank:
#	stampd_start -m "$m" $(lib_model_args "$m" -w 2) -l tcp:127.0.0.1:0
lib_model_args()
{
	local model="$1"

	shift
	"$STAMPD" --help | awk -v m="$model" '
	BEGIN {
		for (i = 1; i < ARGC; i++)
			a[i] = ARGV[i]
		na = ARGC - 1
		ARGC = 1
	}
	# "  -w, --workers N   ..." or "      --max-workers N   ...".
	/^ +-/ && index($0, "-") < 8 && match($0, /--[a-z0-9-]+/) {
		o = substr($0, RSTART + 2, RLENGTH - 2)
		s = $1 ~ /^-[^-],$/ ? substr($1, 2, 1) : ""
		# One space before its argument, two after.
		arg = substr($0, RSTART + RLENGTH) ~ /^ [^ ]/
		next
	}
	o != "" && /taken by -m / {
		l = $0
		sub(/.*taken by -m /, "", l)
		gsub(/,/, " ", l)
		nt++
		to[nt] = o
		ts[nt] = s
		ta[nt] = arg
		tm[nt] = " " l " "
		o = ""
	}
	END {
		for (i = 1; i <= na; i++)
			rp += a[i] == "--reuseport"
		for (i = 1; i <= na; i++) {
			for (k = 1; k <= nt; k++) {
				inl = 0
				if (ts[k] != "" &&
				    substr(a[i], 1, 2) == ("-" ts[k])) {
					inl = length(a[i]) > 2
					break
				}
				if (a[i] == ("--" to[k]))
					break
				if (index(a[i], "--" to[k] "=") == 1) {
					inl = 1
					break
				}
			}
			# Every model takes -w beside --reuseport (stampd.8).
			if (k > nt || index(tm[k], " " m " ") ||
			    (rp && to[k] == "workers")) {
				out = out (out == "" ? "" : " ") a[i]
				continue
			}
			if (ta[k] && !inl)
				i++
		}
		print out
	}' "$@"
}

[ -n "$STAMPD" ] && [ -x "$STAMPD" ] ||
    bail "STAMPD is not an executable: '$STAMPD' (run through make check)"

# stampd_start [ARG...]: start stampd, wait at most 5 s (scaled) for one
# listening line per listener; sets STAMPD_PID and STAMPD_LOG.  Returns 1
# (after saying why) when stampd died or was not ready in time.
stampd_start()
{
	local a n=0 i=0 most got

	for a; do
		case $a in
		-l | --listen | --listen=* | -l?*)
			n=$((n + 1))
			;;
		esac
	done
	[ $n -gt 0 ] || n=2
	LIB_SEQ=$((LIB_SEQ + 1))
	STAMPD_LOG=$LIB_TMP/stampd.$LIB_SEQ.log
	# This machine's /etc/stampd has no say in a test.
	lib_spawn "$STAMPD_LOG" "$STAMPD" --config /dev/null "$@"
	STAMPD_PID=$LIB_PID
	most=$(($(lib_scale 5) * 10))
	while [ $i -lt "$most" ]; do
		got=$(grep -c ' listening ' "$STAMPD_LOG")
		[ "${got:-0}" -ge $n ] && return 0
		lib_alive "$STAMPD_PID" || break
		sleep 0.1
		i=$((i + 1))
	done
	diag "stampd $* did not report its $n listeners within" \
	    "$(lib_scale 5) s:"
	diag_file "$STAMPD_LOG"
	lib_stop "$STAMPD_PID"
	return 1
}

# stampd_port TRANSPORT ADDRESS PROTOCOL [LOG]: the port of the listener
# that stampd reported as e.g. "listening tcp [::1]:40123 stamp".
stampd_port()
{
	awk -v t="$1" -v a="$2" -v p="$3" '
	{
		for (i = 1; i < NF - 2 && $i != "listening"; i++)
			;
		if ($i != "listening" || $(i + 1) != t || $(i + 3) != p)
			next
		h = $(i + 2)
		sub(/:[0-9]+$/, "", h)
		gsub(/[][]/, "", h)
		if (h == a) {
			n = split($(i + 2), f, ":")
			print f[n]
			exit
		}
	}' "${4:-$STAMPD_LOG}"
}

# stampd_stop: stop the last stampd started; returns its exit status.
stampd_stop()
{
	lib_stop "$STAMPD_PID"
}
