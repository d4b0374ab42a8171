#!/bin/sh
# scaleout.t: several stampd on one host, as docs/deploy.md shows them.
# Two processes share one port with --reuseport, the kernel spreads the
# clients over both, and when one stops the other takes every new client;
# without --reuseport on both sides the port is refused, so nobody shares
# it by accident.  Then contrib/haproxy/stampd.cfg, the shipped example,
# with its ports moved to free ones on loopback, in front of two stampd
# with +proxy listeners: every client is served, both backends get some,
# and each names the client that haproxy saw.
. "$(dirname "$0")/../lib.sh"

lib_need haproxy ss od diff

EXAMPLE=$(dirname "$0")/../../contrib/haproxy/stampd.cfg
HLOG=$LIB_TMP/haproxy.log
CFG=$LIB_TMP/haproxy.cfg

# clients N PORT LOG: N stamp clients in a row to 127.0.0.1:PORT; sets
# GOOD to those that printed a time, and appends each reply to LOG.
clients()
{
	local i=0 out st

	GOOD=0
	while [ $i -lt "$1" ]; do
		out=$(lib_timeout 10 "$STAMP" -q -t "$(lib_scale 2)" -p "$2" \
		    127.0.0.1)
		st=$?
		case $out in
		'' | *[!0-9]*)
			st=1
			;;
		esac
		if [ $st -eq 0 ]; then
			GOOD=$((GOOD + 1))
		else
			echo "client $i: '$out'" >> "$3"
		fi
		i=$((i + 1))
	done
}

# nclients LOG: how many Client: lines LOG has.
nclients()
{
	local n

	n=$(grep -c 'Client:' "$1")
	echo "${n:-0}"
}

# wait_exit PID: at most 5 s (scaled) for PID to end, then lib_stop it;
# returns its exit status.
wait_exit()
{
	lib_wait 5 lib_gone "$1"
	lib_stop "$1"
}

# ---- two processes, one port: SO_REUSEPORT -------------------------------

stampd_start -v -w 1 --reuseport -l tcp:127.0.0.1:0
ok $? "a first stampd -w 1 --reuseport starts on port 0" || done_testing
PORT=$(stampd_port tcp 127.0.0.1 stamp)
A_PID=$STAMPD_PID
A_LOG=$STAMPD_LOG
stampd_start -v -w 1 --reuseport -l "tcp:127.0.0.1:$PORT"
ok $? "a second stampd -w 1 --reuseport starts on the same port $PORT" ||
    done_testing
B_PID=$STAMPD_PID
B_LOG=$STAMPD_LOG
is "$(stampd_port tcp 127.0.0.1 stamp "$B_LOG")" "$PORT" \
    "the second reports listening on port $PORT"

n=$(lib_timeout 10 ss -ltnH "sport = :$PORT" | wc -l)
is "$n" 2 "two sockets listen on port $PORT, one in each process"

clients 60 "$PORT" "$LIB_TMP/bad.log"
is "$GOOD" 60 "60 clients in a row all get a time" ||
    diag_file "$LIB_TMP/bad.log"
# The kernel picks a socket of the group by a hash of the client's
# address and port: 60 clients with 60 source ports reach both but for
# a chance of 2 in 2^60.
na=$(nclients "$A_LOG")
nb=$(nclients "$B_LOG")
note "Client lines: first stampd $na, second $nb"
is "$((na + nb))" 60 "the two logs name 60 clients in all"
ok "$([ "$na" -ge 1 ]; echo $?)" "the first stampd served some ($na)"
ok "$([ "$nb" -ge 1 ]; echo $?)" "the second stampd served some ($nb)"

# ---- the default: no sharing ---------------------------------------------

lib_spawn "$LIB_TMP/third.log" "$STAMPD" -w 1 -l "tcp:127.0.0.1:$PORT"
wait_exit "$LIB_PID"
is $? 1 "a third stampd without --reuseport on port $PORT exits 1"
grep -q 'Address already in use' "$LIB_TMP/third.log"
ok $? "... saying Address already in use" || diag_file "$LIB_TMP/third.log"

stampd_start -w 1 -l tcp:127.0.0.1:0
ok $? "a plain stampd (no --reuseport) starts on port 0" || done_testing
PLAIN=$(stampd_port tcp 127.0.0.1 stamp)
lib_spawn "$LIB_TMP/plain2.log" "$STAMPD" -w 1 -l "tcp:127.0.0.1:$PLAIN"
wait_exit "$LIB_PID"
is $? 1 "a second plain stampd on its port $PLAIN exits 1"
grep -q 'Address already in use' "$LIB_TMP/plain2.log"
ok $? "... saying Address already in use" || diag_file "$LIB_TMP/plain2.log"
lib_spawn "$LIB_TMP/plain3.log" "$STAMPD" -w 1 --reuseport \
    -l "tcp:127.0.0.1:$PLAIN"
wait_exit "$LIB_PID"
is $? 1 "a --reuseport stampd on that port exits 1: both must ask"
grep -q 'Address already in use' "$LIB_TMP/plain3.log"
ok $? "... saying Address already in use" || diag_file "$LIB_TMP/plain3.log"
stampd_stop
is $? 0 "the plain stampd exits 0 on TERM"

# ---- one of the two stops ------------------------------------------------

lib_stop "$A_PID"
is $? 0 "the first stampd exits 0 on TERM"
n=$(lib_timeout 10 ss -ltnH "sport = :$PORT" | wc -l)
is "$n" 1 "one socket is left on port $PORT"
before=$(nclients "$B_LOG")
clients 30 "$PORT" "$LIB_TMP/bad2.log"
is "$GOOD" 30 "30 new clients all get a time from the one left" ||
    diag_file "$LIB_TMP/bad2.log"
is "$(($(nclients "$B_LOG") - before))" 30 \
    "the second stampd's log names all 30"
lib_stop "$B_PID"
is $? 0 "the second stampd exits 0 on TERM"

# ---- HAProxy in front of two: the shipped example ------------------------

if ! command -v haproxy > /dev/null 2>&1; then
	ok 1 "haproxy is installed (run tests/deps.sh)"
	done_testing
fi

out=$(haproxy -c -f "$EXAMPLE" 2>&1)
ok $? "haproxy -c accepts contrib/haproxy/stampd.cfg as shipped" ||
    diag "$out"

stampd_start -v -w 1 -l tcp:127.0.0.1:0/stamp+proxy
ok $? "backend s1: stampd -w 1 on a +proxy listener" || done_testing
S1=$(stampd_port tcp 127.0.0.1 stamp+proxy)
S1_PID=$STAMPD_PID
S1_LOG=$STAMPD_LOG
stampd_start -v -w 1 -l tcp:127.0.0.1:0/stamp+proxy
ok $? "backend s2: stampd -w 1 on a +proxy listener" || done_testing
S2=$(stampd_port tcp 127.0.0.1 stamp+proxy)
S2_PID=$STAMPD_PID
S2_LOG=$STAMPD_LOG

# hap_start: the example with its frontend on a free port of 127.0.0.1 and
# its servers on s1's and s2's ports; tried again on another (ten times at
# most) should the port be taken before haproxy binds it.  Sets FP and
# HPID.
hap_start()
{
	local try=0 r

	while [ $try -lt 10 ]; do
		try=$((try + 1))
		FP=$(lib_free_port tcp) || return 1
		sed -e "s/^\\(	bind \\).*:1937\$/\\1127.0.0.1:$FP/" \
		    -e "s/127\\.0\\.0\\.1:1938\$/127.0.0.1:$S1/" \
		    -e "s/127\\.0\\.0\\.1:1939\$/127.0.0.1:$S2/" \
		    "$EXAMPLE" > "$CFG"
		lib_spawn "$HLOG" haproxy -db -f "$CFG"
		HPID=$LIB_PID
		lib_own_ports "$HPID" "$HLOG" t:"$FP"
		r=$?
		[ $r = 0 ] && return 0
		[ $r = 2 ] || break
		note "haproxy: port $FP was taken, again with another"
	done
	lib_stop "$HPID"
	diag "haproxy did not listen:"
	diag_file "$HLOG"
	return 1
}

hap_start
ok $? "haproxy runs the example, its frontend on 127.0.0.1" || done_testing
# Only the three lines that name an address may differ from the example.
n=$(diff "$EXAMPLE" "$CFG" | grep -c '^>')
is "$n" 3 "the configuration run is the example but for its 3 addresses"
grep -q "^	bind 127\\.0\\.0\\.1:$FP\$" "$CFG" &&
    grep -q "^	server s1 127\\.0\\.0\\.1:$S1\$" "$CFG" &&
    grep -q "^	server s2 127\\.0\\.0\\.1:$S2\$" "$CFG"
ok $? "frontend on $FP, servers s1 on $S1 and s2 on $S2" || diag_file "$CFG"
note "haproxy: $(haproxy -v | sed -n 1p), frontend $FP, s1 $S1, s2 $S2"

clients 40 "$FP" "$LIB_TMP/bad3.log"
is "$GOOD" 40 "40 clients through haproxy all get a time" ||
    diag_file "$LIB_TMP/bad3.log"

# option tcplog: one line per connection once it ends, starting with the
# client's address and port and naming the server ("stampd/s1").
# relayed N: haproxy logged at least N connections relayed.
relayed()
{
	[ "$(grep -c ' stampd/s[12] ' "$HLOG")" -ge "$1" ]
}
lib_wait 5 relayed 40
h1=$(grep -c ' stampd/s1 ' "$HLOG")
h2=$(grep -c ' stampd/s2 ' "$HLOG")
note "haproxy sent $h1 to s1, $h2 to s2"
is "$((h1 + h2))" 40 "haproxy logged 40 connections relayed" ||
    diag_file "$HLOG"
ok "$([ "$h1" -ge 1 ] && [ "$h2" -ge 1 ]; echo $?)" \
    "haproxy sent some to each server"

# served LOG SERVER: how many clients that haproxy logged for SERVER the
# stampd's LOG names (from the PROXY header, not haproxy's own socket).
served()
{
	grep " stampd/$2 " "$HLOG" | awk '{ print $1 }' | {
		n=0
		while read -r c; do
			grep -Fq "stampd: Client:$c " "$1" && n=$((n + 1))
		done
		echo $n
	}
}
n1=$(served "$S1_LOG" s1)
n2=$(served "$S2_LOG" s2)
note "stampd s1 named $n1 of its clients, s2 $n2"
is "$n1" "$h1" "stampd s1 logged every client haproxy sent it"
is "$n2" "$h2" "stampd s2 logged every client haproxy sent it"
ok "$([ "$n1" -ge 1 ] && [ "$n2" -ge 1 ]; echo $?)" \
    "both backends served some ($n1 and $n2)"
! grep -q 'is DOWN\|PROXY header from' "$HLOG" "$S1_LOG" "$S2_LOG"
ok $? "no server went DOWN and no PROXY header was refused" ||
    { diag_file "$HLOG"; diag_file "$S1_LOG"; diag_file "$S2_LOG"; }

lib_stop "$HPID"
note "haproxy stopped: exit $?"
lib_stop "$S1_PID"
is $? 0 "backend s1 exits 0 on TERM"
lib_stop "$S2_PID"
is $? 0 "backend s2 exits 0 on TERM"

done_testing
