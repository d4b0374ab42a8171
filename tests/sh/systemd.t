#!/bin/sh
# systemd.t: stampd serves the sockets systemd hands it (LISTEN_FDS,
# LISTEN_PID, LISTEN_FDNAMES), TCP and UDP, each in the protocol its name
# says or else the one -P says, and a socket named metrics as a metrics
# listener (a scrape is the first client); and the shipped units pass
# systemd-analyze verify and its offline security review.
#
# No systemd runs here: systemd-socket-activate (from Debian's systemd
# package) binds the sockets and execs stampd with them, as systemd would.
# It binds only on the first packet or connection, and cannot bind port 0
# ("Failed to parse socket address"), so the ports are picked free at
# random (lib_free_port), and should one be taken before it binds it (it
# then says "Address already in use" and exits), the start is tried again
# on other ports, up to ten times: a collision costs a retry, never a
# failure.  Its -d applies to all of its
# sockets: for TCP and UDP in one daemon, one systemd-socket-activate
# execs another, which passes the first one's socket on beside its own.
. "$(dirname "$0")/../lib.sh"

lib_need systemd-socket-activate systemd-analyze make ss od python3 certtool

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"
[ -n "$STAMP_BUILD" ] && [ -x "$STAMP_BUILD/stampd" ] ||
    bail "STAMP_BUILD holds no stampd: '$STAMP_BUILD' (run through make check)"
TZ=UTC
export TZ

# wait_log PID FILE ERE [N]: at most 5 s (scaled) for N (1) lines of FILE
# to match ERE while PID runs.
wait_log()
{
	local i=0 n most

	most=$(($(lib_scale 5) * 10))
	while [ $i -lt "$most" ]; do
		n=$(grep -Ec -- "$3" "$2" 2>/dev/null)
		[ "${n:-0}" -ge "${4:-1}" ] && return 0
		lib_alive "$1" || break
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# activate LOG CMD...: start CMD, a systemd-socket-activate command line
# whose first -l is 127.0.0.1:$PORT, and wait until it listens.  Sets SPID.
# Returns 0, or 2 if a port it was given was taken meanwhile (the caller
# picks others and tries again), or 1 (after saying why).
activate()
{
	local log="$1"

	shift
	lib_spawn "$log" "$@"
	SPID=$LIB_PID
	wait_log "$SPID" "$log" "^Listening on 127\\.0\\.0\\.1:$PORT as " &&
	    return 0
	lib_stop "$SPID"
	if grep -q 'Address already in use' "$log"; then
		note "a port was taken meanwhile: trying others"
		return 2
	fi
	diag "$* did not listen within $(lib_scale 5) s:"
	diag_file "$log"
	return 1
}

# The tries at a start on free ports, each on other ones.
TRIES='1 2 3 4 5 6 7 8 9 10'


# listening LOG: stampd's listening lines, for the reader of the output.
listening()
{
	grep -E '^(Listening on|Execing|Received|stampd: listening)' "$1" |
	    while read -r l; do
		note "  $l"
	done
}

# ---- a TCP socket named "time", beside stampd's own -l ---------------------

log=$LIB_TMP/a.log
started=1
for try in $TRIES; do
	PORT=$(lib_free_port tcp) || break
	activate "$log" systemd-socket-activate -l "127.0.0.1:$PORT" \
	    --fdname=time "$STAMPD" -l udp:127.0.0.1:0/daytime
	started=$?
	[ $started = 2 ] || break
done
ok $started "systemd-socket-activate -l 127.0.0.1:$PORT --fdname=time" &&
{
	T=$PORT
	lib_ask "activated tcp, named time" "$T" -P time
	wait_log "$SPID" "$log" 'stampd: listening ' 2
	is "$(stampd_port tcp 127.0.0.1 time "$log")" "$T" \
	    "stampd reports the socket: listening tcp 127.0.0.1:$T time"
	U=$(stampd_port udp 127.0.0.1 daytime "$log")
	like "$U" '^[1-9][0-9]*$' "and its own -l beside it: udp 127.0.0.1:$U"
	lib_ask "its own udp" "$U" -u -P daytime
	lib_ask "activated tcp, again" "$T" -P time
	is "$(grep -c '^Execing ' "$log")" 1 "one stampd served them all"
	listening "$log"
	lib_stop "$SPID"
	is $? 0 "stampd exits 0 on TERM"
}

# ---- TCP sockets named "nts-ke" and "nts-ke-2": a protocol with a '-' ------

# The name is the protocol's whole, or with a suffix after a '-': stamp -P
# nts gets authenticated time through the socket, so it spoke NTS-KE.
if lib_nts_cert "$LIB_TMP/nts" "stampd systemd.t CA"; then
	for fdn in nts-ke nts-ke-2; do
		log=$LIB_TMP/nts-$fdn.log
		started=1
		for try in $TRIES; do
			PORT=$(lib_free_port tcp) || break
			activate "$log" systemd-socket-activate \
			    -l "127.0.0.1:$PORT" --fdname="$fdn" "$STAMPD" \
			    --tls-cert "$LIB_TMP/nts/server.pem" \
			    --tls-key "$LIB_TMP/nts/server.key" \
			    -l udp:127.0.0.1:0/ntp --local-stratum 8
			started=$?
			[ $started = 2 ] || break
		done
		ok $started "systemd-socket-activate --fdname=$fdn" && {
			out=$(lib_timeout 20 "$STAMP" -P nts \
			    --ca "$LIB_TMP/nts/ca.pem" -p "$PORT" 127.0.0.1 2>&1)
			like "$out" 'authenticated \(NTS\)' \
			    "a socket named $fdn speaks NTS-KE: $out"
			lib_stop "$SPID"
			is $? 0 "stampd exits 0 on TERM"
		}
	done
else
	diag_file "$LIB_TMP/nts/certtool.out"
	ok 1 "certtool makes a certificate for the nts-ke sockets"
fi

# ---- a UDP socket named "daytime-udp" ---------------------------------------

log=$LIB_TMP/b.log
started=1
for try in $TRIES; do
	PORT=$(lib_free_port udp) || break
	activate "$log" systemd-socket-activate -d \
	    -l "127.0.0.1:$PORT" --fdname=daytime-udp "$STAMPD"
	started=$?
	[ $started = 2 ] || break
done
ok $started \
    "systemd-socket-activate -d -l 127.0.0.1:$PORT --fdname=daytime-udp" &&
{
	# The first datagram starts stampd, which answers it.
	lib_ask "activated udp, named daytime-udp" "$PORT" -u -P daytime
	wait_log "$SPID" "$log" 'stampd: listening '
	is "$(stampd_port udp 127.0.0.1 daytime "$log")" "$PORT" \
	    "stampd reports it: listening udp 127.0.0.1:$PORT daytime"
	lib_ask "activated udp, again" "$PORT" -u -P daytime
	listening "$log"
	lib_stop "$SPID"
	is $? 0 "stampd exits 0 on TERM"
}

# ---- an unnamed socket gets -P's protocol -----------------------------------

log=$LIB_TMP/c.log
started=1
for try in $TRIES; do
	PORT=$(lib_free_port tcp) || break
	activate "$log" systemd-socket-activate -l "127.0.0.1:$PORT" \
	    "$STAMPD" -P time
	started=$?
	[ $started = 2 ] || break
done
ok $started \
    "systemd-socket-activate -l 127.0.0.1:$PORT, no name; stampd -P time" &&
{
	lib_ask "activated tcp, unnamed, -P time" "$PORT" -P time
	wait_log "$SPID" "$log" 'stampd: listening '
	is "$(stampd_port tcp 127.0.0.1 time "$log")" "$PORT" \
	    "stampd reports it: listening tcp 127.0.0.1:$PORT time"
	listening "$log"
	lib_stop "$SPID"
	is $? 0 "stampd exits 0 on TERM"
}

# ---- a TCP socket named "metrics" serves /metrics ---------------------------

log=$LIB_TMP/m.log
started=1
for try in $TRIES; do
	PORT=$(lib_free_port tcp) || break
	activate "$log" systemd-socket-activate -l "127.0.0.1:$PORT" \
	    --fdname=metrics "$STAMPD" -l tcp:127.0.0.1:0
	started=$?
	[ $started = 2 ] || break
done
ok $started "systemd-socket-activate -l 127.0.0.1:$PORT --fdname=metrics" &&
{
	# The scrape is the first client: it starts stampd, which answers it.
	lib_scrape "$PORT" > "$LIB_TMP/m.page"
	like "$(sed -n 1p "$LIB_TMP/m.page")" '^HTTP/1.1 200 OK' \
	    "a scrape starts stampd, and gets 200"
	grep -q '^stampd_scrapes_total 1$' "$LIB_TMP/m.page"
	ok $? "the page counts the scrape" ||
	    diag "$(grep -c '' "$LIB_TMP/m.page") lines: $(head -c 300 \
	    "$LIB_TMP/m.page")"
	wait_log "$SPID" "$log" 'stampd: listening ' 2
	is "$(stampd_port tcp 127.0.0.1 metrics "$log")" "$PORT" \
	    "stampd reports it: listening tcp 127.0.0.1:$PORT metrics"
	T=$(stampd_port tcp 127.0.0.1 stamp "$log")
	lib_ask "its own -l still serves the time" "$T"
	want="stampd_accepted_total{listener=\"tcp 127.0.0.1:$PORT metrics\"}"
	grep -Fqx "$want 1" "$LIB_TMP/m.page"
	ok $? "the page names the listener: tcp 127.0.0.1:$PORT metrics"
	# An upgrade hands the socket on under its name: still /metrics.
	# (SPID is timeout(1)'s: stampd is its child.)
	kid=$(lib_children "$SPID")
	kill -USR2 "${kid%% *}"
	wait_log "$SPID" "$log" 'upgraded: serving'
	ok $? "SIGUSR2: stampd upgrades in place"
	like "$(lib_scrape "$PORT" | sed -n 1p)" '^HTTP/1.1 200 OK' \
	    "after it, the socket named metrics still serves /metrics"
	listening "$log"
	lib_stop "$SPID"
	is $? 0 "stampd exits 0 on TERM"
}

# ---- the shipped units, as systemd would run them ---------------------------

# Installed into a private prefix, so that ExecStart names a program that is
# there; the units are contrib's but for that path (install.t checks).
UNITS=$LIB_TMP/prefix
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS timeout "$(lib_scale 120)" \
    make -s -C "$TOP" -o all O="$STAMP_BUILD" install \
    PREFIX="$UNITS/usr" SYSCONFDIR="$UNITS/etc" > "$LIB_TMP/make.log" 2>&1
ok $? "make install PREFIX=<temporary>/usr" || diag_file "$LIB_TMP/make.log"
SOCKET=$UNITS/usr/lib/systemd/system/stampd.socket
SERVICE=$UNITS/usr/lib/systemd/system/stampd.service
MSOCKET=$UNITS/usr/lib/systemd/system/stampd-metrics.socket

# systemd-analyze looks the Documentation= manual up with man(1).
MANPATH=$UNITS/usr/share/man timeout "$(lib_scale 60)" systemd-analyze verify \
    "$SOCKET" "$SERVICE" "$MSOCKET" > "$LIB_TMP/verify.out" 2>&1
ok $? "systemd-analyze verify stampd.socket stampd.service \
stampd-metrics.socket exits 0" ||
    diag_file "$LIB_TMP/verify.out"
is "$(cat "$LIB_TMP/verify.out")" "" "and finds nothing to say"

lib_timeout 60 systemd-analyze security --offline=yes --threshold=20 \
    "$SERVICE" > "$LIB_TMP/security.out" 2>&1
ok $? "systemd-analyze security --offline: exposure at most 2.0 of 10" ||
    diag_file "$LIB_TMP/security.out"
note "$(grep 'Overall exposure' "$LIB_TMP/security.out")"

# key FILE KEY: the values of KEY= in a unit file, one a line.
key()
{
	sed -n "s/^$2=//p" "$1"
}

name=$(key "$SOCKET" FileDescriptorName)
is "$(key "$SOCKET" ListenStream)/$(key "$SOCKET" ListenDatagram)/$name" \
    1937/1937/stamp "stampd.socket: stamp on TCP and UDP port 1937"
mname=$(key "$MSOCKET" FileDescriptorName)
is "$(key "$MSOCKET" ListenStream)/$mname/$(key "$MSOCKET" Service)" \
    127.0.0.1:9137/metrics/stampd.service \
    "stampd-metrics.socket: metrics on 127.0.0.1:9137, for stampd.service"
# ExecStart with $STAMPD_OPTS as the environment file sets it, the program
# ours; the sockets as the socket unit says, but on loopback and free ports.
opts=$(sh -c '. "$1" && printf %s "$STAMPD_OPTS"' sh \
    "$UNITS/etc/default/stampd")
exec_start=$(key "$SERVICE" ExecStart | sed "s|\\\$STAMPD_OPTS|$opts|")
is "${exec_start%% *}" "$UNITS/usr/sbin/stampd" \
    "stampd.service runs the installed stampd"
note "ExecStart=$exec_start"

log=$LIB_TMP/d.log
started=1
for try in $TRIES; do
	PORT=$(lib_free_port tcp) && U=$(lib_free_port udp) || break
	# $exec_start is a command line on purpose.
	# shellcheck disable=SC2086
	activate "$log" systemd-socket-activate -l "127.0.0.1:$PORT" \
	    systemd-socket-activate -d -l "127.0.0.1:$U" \
	    --fdname="$name:$name" $exec_start
	started=$?
	[ $started = 2 ] || break
done
ok $started "the units' sockets: tcp 127.0.0.1:$PORT, udp 127.0.0.1:$U" &&
{
	T=$PORT
	lib_ask "units, tcp" "$T"
	wait_log "$SPID" "$log" 'stampd: listening ' 2
	is "$(stampd_port tcp 127.0.0.1 stamp "$log")" "$T" \
	    "stampd reports: listening tcp 127.0.0.1:$T stamp"
	is "$(stampd_port udp 127.0.0.1 stamp "$log")" "$U" \
	    "stampd reports: listening udp 127.0.0.1:$U stamp"
	lib_ask "units, udp" "$U" -u
	listening "$log"
	lib_stop "$SPID"
	is $? 0 "stampd exits 0 on TERM"
}

done_testing
