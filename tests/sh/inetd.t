#!/bin/sh
# inetd.t: stampd --inetd serves the one connection or datagram that a
# super-server hands it on standard input, under the real ones: djb's
# tcpserver (ucspi-tcp) over TCP, and xinetd over TCP and UDP, running the
# example service that contrib/xinetd.d/stamp ships and daytime services
# of our own.
#
# tcpserver binds port 0 and prints the port it got (-1).  xinetd cannot:
# as in interop_inetd.t, its ports are picked free at random and the start
# is retried on others should one be taken meanwhile; it runs on a private
# configuration, bound to 127.0.0.1, NOLIBWRAP keeping the host's
# hosts.deny out of the test.
. "$(dirname "$0")/../lib.sh"

lib_need tcpserver xinetd ss od

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"
TZ=UTC
export TZ

# wait_log PID FILE ERE [N]: at most 5 s for N (1) lines of FILE to match
# ERE while PID runs.
wait_log()
{
	local i=0 n

	while [ $i -lt 50 ]; do
		n=$(grep -Ec -- "$3" "$2" 2>/dev/null)
		[ "${n:-0}" -ge "${4:-1}" ] && return 0
		lib_alive "$1" || break
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# ---- tcpserver -------------------------------------------------------------

# -R -H -l: no ident and no DNS, which loopback does not need.
log=$LIB_TMP/tcpserver.log
lib_spawn "$log" tcpserver -1 -v -R -H -l localhost 127.0.0.1 0 \
    "$STAMPD" --inetd -v -P time
TPID=$LIB_PID
wait_log "$TPID" "$log" '^[0-9]+$'
ok $? "tcpserver -1 -v 127.0.0.1 0 stampd --inetd -v -P time listens" || {
	diag_file "$log"
	done_testing
}
port=$(grep -E '^[0-9]+$' "$log" | sed -n 1p)
note "tcpserver: port $port"

lib_ask "tcpserver" "$port" -P time
lib_ask "tcpserver, again" "$port" -P time
# tcpserver says "end PID status 0" once it has reaped stampd.
wait_log "$TPID" "$log" '^tcpserver: end [0-9]+ status 0$' 2
ok $? "tcpserver: both stampd processes exit 0" || diag_file "$log"
is "$(sed -n 's/^tcpserver: end \([0-9]*\) .*/\1/p' "$log" | sort -u |
    wc -l)" 2 "tcpserver: a stampd process for each connection"
# tcpserver leaves standard error alone: stampd's log is in ours.
is "$(grep -c '^stampd: Client:127\.0\.0\.1:[0-9]* listener=' "$log")" 2 \
    "tcpserver: stampd logs each client to standard error"
while read -r l; do
	note "  $l"
done < "$log"
lib_stop "$TPID"

# ---- xinetd -----------------------------------------------------------------

XDIR=$LIB_TMP/xinetd
mkdir "$XDIR" || bail "mkdir $XDIR"
ME=$(id -un)

# shipped PORT: contrib's xinetd service, enabled, on 127.0.0.1:PORT, run
# as us, with our stampd.
shipped()
{
	local w='[ 	]*' flags='REUSE NOLIBWRAP'

	sed -e "s/^\($w\)port$w=.*/\1port = $1\n\1bind = 127.0.0.1/" \
	    -e "s/^\($w\)user$w=.*/\1user = $ME/" \
	    -e "s|^\($w\)server$w=.*|\1server = $STAMPD|" \
	    -e "s/^\($w\)disable$w=.*/\1disable = no\n\1flags = $flags/" \
	    "$TOP/contrib/xinetd.d/stamp"
}

# daytime ID TYPE PORT: a service block of our own running stampd.
daytime()
{
	local proto=tcp wait=no

	[ "$2" = dgram ] && proto=udp wait=yes
	cat <<EOF
service daytime
{
	id		= $1
	type		= UNLISTED
	socket_type	= $2
	protocol	= $proto
	wait		= $wait
	user		= $ME
	bind		= 127.0.0.1
	port		= $3
	server		= $STAMPD
	server_args	= --inetd -P daytime
	flags		= REUSE NOLIBWRAP
}
EOF
}

# free_both: a port free for TCP and UDP alike.
free_both()
{
	local i=0 p

	while [ $i -lt 20 ]; do
		p=$(lib_free_port tcp) || return 1
		[ -z "$(lib_timeout 10 ss -uanH "sport = :$p" |
		    sed -n 1p)" ] && {
			echo "$p"
			return 0
		}
		i=$((i + 1))
	done
	return 1
}

# start_xinetd: a configuration on free ports, and xinetd on it; 0 once
# its sockets are bound, within 5 s (scaled), 2 if a port was taken
# meanwhile.  Sets XPID, SP (stamp, TCP and UDP), DT and DU (daytime TCP,
# UDP).
start_xinetd()
{
	if ! { SP=$(free_both) && DT=$(lib_free_port tcp) &&
	    DU=$(lib_free_port udp) && [ "$SP" != "$DT" ] &&
	    [ "$SP" != "$DU" ]; }; then
		diag "found no free ports below the ephemeral range"
		return 1
	fi
	{
		printf 'defaults\n{\n'
		printf '\tlog_type\t= FILE %s\n' "$XDIR/services.log"
		printf '\tlog_on_success\t= PID HOST EXIT\n'
		printf '\tinstances\t= 50\n}\n'
		shipped "$SP"
		daytime daytime-stream stream "$DT"
		daytime daytime-dgram dgram "$DU"
	} > "$XDIR/xinetd.conf"
	rm -f "$XDIR/services.log"
	lib_xinetd "$XDIR" t:"$SP" u:"$SP" t:"$DT" u:"$DU"
}

# The example must still be what the rewriting above expects.
re="server[ 	]*= $STAMPD|bind[ 	]*= 127\\.0\\.0\\.1|disable[ 	]*= no"
is "$(shipped 1 | grep -Ec "^[ 	]*($re|server_args[ 	]*= --inetd )")" 8 \
    "contrib/xinetd.d/stamp: two services to point at our stampd"

# A port taken between lib_free_port and xinetd's bind costs a retry.
started=1
for try in 1 2 3 4 5 6 7 8 9 10; do
	start_xinetd
	started=$?
	[ $started = 2 ] || break
done
ok $started "xinetd runs stampd --inetd for stamp and daytime, TCP and UDP" || {
	diag "the last xinetd.conf:"
	diag_file "$XDIR/xinetd.conf"
	done_testing
}
note "xinetd: stamp tcp and udp $SP, daytime tcp $DT udp $DU"
note "$(grep -o 'Started working.*' "$XDIR/xinetd.log")"

lib_ask "xinetd, contrib's stamp" "$SP"
lib_ask "xinetd, contrib's stamp" "$SP" -u
# wait = yes: xinetd takes the UDP socket back once stampd has exited.
lib_ask "xinetd, contrib's stamp, again" "$SP" -u
lib_ask "xinetd daytime" "$DT" -P daytime
lib_ask "xinetd daytime" "$DU" -u -P daytime

for id in stamp-stream stamp-dgram daytime-stream daytime-dgram; do
	n=1
	[ $id = stamp-dgram ] && n=2
	wait_log "$XPID" "$XDIR/services.log" \
	    "EXIT: $id status=0 " $n
	ok $? "xinetd: stampd for $id exits 0, $n time(s)" ||
	    diag_file "$XDIR/services.log"
done
while read -r l; do
	note "  $l"
done < "$XDIR/services.log"

lib_stop "$XPID"
is $? 0 "xinetd exits 0 on TERM"

done_testing
