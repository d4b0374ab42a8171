#!/bin/sh
# interop_inetd.t: our client stamp reads the time and daytime services
# built into xinetd, over TCP and UDP, and agrees with stampd on the time.
#
# xinetd runs privately: its own configuration and logs in the test's
# temporary directory, bound to 127.0.0.1 only.  It cannot bind port 0 and
# tell us the port, so the ports are picked free at random, and the start
# is retried on other ports, up to ten times, should one be taken
# meanwhile (lib_own_ports tells).  A service
# named in /etc/services must use the port listed there unless marked
# UNLISTED, and NOLIBWRAP keeps the host's hosts.deny out of the test.
. "$(dirname "$0")/../lib.sh"

lib_need xinetd ss od nc

# xinetd's daytime line is in local time; stamp reads it as UTC.
TZ=UTC
export TZ

[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"

XDIR=$LIB_TMP/xinetd
mkdir "$XDIR" || bail "mkdir $XDIR"

# service NAME ID TYPE PORT: one service block of xinetd.conf(5).
service()
{
	local proto=tcp wait=no

	[ "$3" = dgram ] && proto=udp wait=yes
	cat <<EOF
service $1
{
	type		= INTERNAL UNLISTED
	id		= $2
	socket_type	= $3
	protocol	= $proto
	wait		= $wait
	bind		= 127.0.0.1
	port		= $4
	flags		= REUSE NOLIBWRAP
}
EOF
}

# start_xinetd: write a configuration on free ports and start xinetd on
# it; 0 once all four sockets are bound, within 5 s (scaled), 2 if a
# port was taken meanwhile.  Sets XPID and the
# ports TT (time tcp), TU, DT (daytime tcp) and DU.
start_xinetd()
{
	if ! { TT=$(lib_free_port tcp) && TU=$(lib_free_port udp) &&
	    DT=$(lib_free_port tcp) && DU=$(lib_free_port udp) &&
	    [ "$TT" != "$DT" ] && [ "$TU" != "$DU" ]; }; then
		diag "found no four free ports below the ephemeral range"
		return 1
	fi
	{
		printf 'defaults\n{\n'
		printf '\tlog_type\t= FILE %s\n' "$XDIR/services.log"
		printf '\tinstances\t= 50\n}\n'
		service time time-stream stream "$TT"
		service time time-dgram dgram "$TU"
		service daytime daytime-stream stream "$DT"
		service daytime daytime-dgram dgram "$DU"
	} > "$XDIR/xinetd.conf"
	lib_xinetd "$XDIR" t:"$TT" u:"$TU" t:"$DT" u:"$DU"
}

# A port taken between lib_free_port and xinetd's bind costs a retry.
started=1
for try in 1 2 3 4 5 6 7 8 9 10; do
	start_xinetd
	started=$?
	[ $started = 2 ] || break
done
ok $started "xinetd serves time and daytime on 127.0.0.1, TCP and UDP" || {
	diag "the last xinetd.conf:"
	diag_file "$XDIR/xinetd.conf"
	done_testing
}
note "xinetd: time tcp $TT udp $TU, daytime tcp $DT udp $DU"

# ask WHAT PORT ARG...: stamp ARG... -p PORT 127.0.0.1 exits 0 and prints
# the time xinetd read between the times taken before and after.
ask()
{
	local what="$1" port="$2" out t0 t1 line re

	shift 2
	out=$LIB_TMP/stamp.out
	t0=$(date +%s)
	lib_timeout 10 "$STAMP" -v "$@" -p "$port" 127.0.0.1 > "$out" \
	    2> "$out.err"
	ok $? "$what: stamp $* -p $port 127.0.0.1 exits 0" || {
		diag_file "$out"
		diag_file "$out.err"
	}
	t1=$(date +%s)
	line=$(sed -n 1p "$out")
	note "stamp $* -p $port 127.0.0.1: $line"
	note "$(sed -n 's/^stamp: [^:]*:[0-9]*: //p' "$out.err")"
	re='^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC'
	re="$re offset [-+][0-9]+\\.[0-9]{3}s from 127\\.0\\.0\\.1:$port \\("
	like "$line" "$re" "$what: stamp prints seconds, date, time, offset"
	within "${line%% *}" "$t0" "$t1" "$what: the time xinetd sent is now"
}

ask "time tcp" "$TT" -P time
ask "time udp" "$TU" -u -P time
ask "daytime tcp" "$DT" -P daytime
ask "daytime udp" "$DU" -u -P daytime

# What xinetd's daytime service sends, byte by byte.
raw=$LIB_TMP/daytime.raw
lib_timeout 10 nc -N 127.0.0.1 "$DT" < /dev/null > "$raw"
ok $? "nc -N 127.0.0.1 $DT reads xinetd's daytime line"
od -c "$raw" | while read -r l; do
	note "xinetd daytime: $l"
done

# stamp -q reads stampd's and xinetd's replies alike, and they agree.
stampd_start -l tcp:127.0.0.1:0/daytime -l udp:127.0.0.1:0/daytime \
    -l tcp:127.0.0.1:0/time
ok $? "stampd serves daytime on TCP and UDP and time on TCP" ||
    done_testing
SDT=$(stampd_port tcp 127.0.0.1 daytime)
SDU=$(stampd_port udp 127.0.0.1 daytime)
STT=$(stampd_port tcp 127.0.0.1 time)

# agree WHAT PORT1 PORT2 ARG...: stamp -q ARG... reads the same second
# from both ports, give or take 2 s and the time between the two reads
# (a slow machine may take seconds over them).
agree()
{
	local what="$1" p1="$2" p2="$3" a b t0 t1 from=x

	shift 3
	t0=$(date +%s)
	a=$(lib_timeout 10 "$STAMP" -q "$@" -p "$p1" 127.0.0.1)
	b=$(lib_timeout 10 "$STAMP" -q "$@" -p "$p2" 127.0.0.1)
	t1=$(date +%s)
	note "$what: stampd $a, xinetd $b, read in $((t1 - t0)) s"
	case $b in
	'' | *[!0-9]*)	;;
	*)		from=$((b - (t1 - t0))) ;;
	esac
	within "$a" "$from" "$b" "$what: stampd and xinetd agree"
}

agree "daytime tcp" "$SDT" "$DT" -P daytime
agree "daytime udp" "$SDU" "$DU" -u -P daytime
agree "time tcp" "$STT" "$TT" -P time

stampd_stop
is $? 0 "stampd exits 0 on TERM"
lib_stop "$XPID"
is $? 0 "xinetd exits 0 on TERM"

done_testing
