#!/bin/sh
#
# stampd_cli.t: what stampd says about its command line, and how it exits.
#
# --help and --version; every usage error exits 2 with one line naming what
# is wrong; a listener that cannot be bound exits 1 with the address and the
# system's reason.  Only loopback is ever bound; 192.0.2.1 (TEST-NET-1) is
# only given to bind, which refuses it, and no packet is sent.  Every
# command runs under timeout(1), and the one daemon started here is stopped
# by its pid, from the EXIT trap if need be.

. "$(dirname "$0")/../lib.sh"

tmp=$LIB_TMP

# run ARGS...: stampd's exit status in $rc, its output in $tmp/out, err.
run() {
	lib_timeout 10 "$STAMPD" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# is_rc WANT NAME
is_rc() {
	[ "$rc" -eq "$1" ]
	ok $? "$2 (exit $rc)"
	if [ "$rc" -ne "$1" ]; then
		diag "wanted exit $1; stderr:"
		diag "$(cat "$tmp/err")"
	fi
}

# has FILE TEXT NAME: a line of FILE holds TEXT (fixed string)
has() {
	grep -F -q -e "$2" "$1"
	ok $? "$3"
	grep -F -q -e "$2" "$1" || diag "no '$2' in:" "$(cat "$1")"
}

# lines FILE TEXT WANT NAME: WANT lines of FILE hold TEXT
lines() {
	got=$(grep -F -c -e "$2" "$1")
	[ "$got" -eq "$3" ]
	ok $? "$4"
	[ "$got" -eq "$3" ] || diag "$got lines hold '$2':" "$(cat "$1")"
}

empty() {
	[ ! -s "$1" ]
	ok $? "$2"
	[ -s "$1" ] && diag "not empty:" "$(cat "$1")"
}

# --help, -h
for opt in --help -h; do
	run "$opt"
	is_rc 0 "$opt exits 0"
	has "$tmp/out" "usage: stampd [-hVv]" "$opt: usage on stdout"
	has "$tmp/out" "-m, --model NAME" "$opt: the options on stdout"
	empty "$tmp/err" "$opt: nothing on stderr"
done

# --version, -V: the version of src/proto.h when the sources are at hand.
proto_h=$(dirname "$0")/../../src/proto.h
version=$(sed -n 's/^#define[	 ]*STAMP_VERSION[	 ]*"\(.*\)"$/\1/p' \
    "$proto_h" 2>/dev/null)
for opt in --version -V; do
	run "$opt"
	is_rc 0 "$opt exits 0"
	out=$(cat "$tmp/out")
	if [ -n "$version" ]; then
		[ "$out" = "stampd $version" ]
	else
		printf '%s\n' "$out" |
		    grep -E -q '^stampd [0-9]+\.[0-9]+\.[0-9]+$'
	fi
	ok $? "$opt prints 'stampd ${version:-X.Y.Z}'"
	[ "$(wc -l <"$tmp/out")" -eq 1 ]
	ok $? "$opt: one line"
	empty "$tmp/err" "$opt: nothing on stderr"
done

# Unknown options.
for opt in --bogus -x --listen; do
	run "$opt"
	is_rc 2 "$opt: usage error"
	has "$tmp/err" "usage: stampd" "$opt: usage on stderr"
	empty "$tmp/out" "$opt: nothing on stdout"
done

# The message is stampd's own, named "stampd" however it was started.
for opt in --bogus -x; do
	run -l tcp:127.0.0.1:0 "$opt"
	is_rc 2 "$opt: usage error"
	[ "$(head -n 1 "$tmp/err")" = "stampd: unknown option $opt" ]
	ok $? "$opt: 'stampd: unknown option $opt' first"
done
run -l tcp:127.0.0.1:0 --listen
is_rc 2 "--listen without its argument: usage error"
lines "$tmp/err" "stampd: --listen needs an argument" 1 \
    "--listen without its argument: named"

# --ready-fd must name a descriptor stampd inherited.  3 is closed here:
# stampd's own signal pipe would take it, and be closed as "ready".
for fd in 3 9; do
	eval 'run -l tcp:127.0.0.1:0 --ready-fd $fd '"$fd"'>&-'
	is_rc 2 "--ready-fd $fd, not open: usage error"
	lines "$tmp/err" "stampd: --ready-fd $fd: not an open descriptor" 1 \
	    "--ready-fd $fd, not open: named"
	has "$tmp/err" "usage: stampd" \
	    "--ready-fd $fd, not open: usage on stderr"
	empty "$tmp/out" "--ready-fd $fd, not open: nothing on stdout"
done

# Bad listeners: exit 2, one line "stampd: --listen SPEC: REASON".
transport="transport must be tcp or udp"
noport="no port: want TRANSPORT:ADDRESS:PORT"
port="port must be a number from 0 to 65535"
bracket="IPv6 address has no closing ']'"
v4="not a numeric IPv4 address (IPv6 goes in [])"
proto="protocol must be stamp, time, daytime, ntp, nts-ke or metrics"
noaddr="no address: use * for every address"
while IFS='|' read -r spec reason; do
	[ -n "$spec" ] || continue
	eval "reason=\$$reason"
	run -l tcp:127.0.0.1:0 -l "$spec"
	is_rc 2 "-l $spec: usage error"
	lines "$tmp/err" "stampd: --listen $spec: $reason" 1 \
	    "-l $spec: '$reason'"
	lines "$tmp/err" "$spec" 1 "-l $spec: named once"
	has "$tmp/err" "usage: stampd" "-l $spec: usage on stderr"
done <<'EOF'
tcp|transport
tcp:|noport
sctp:127.0.0.1:1|transport
tcp:127.0.0.1|noport
tcp:127.0.0.1:65536|port
tcp:127.0.0.1:-1|port
tcp:127.0.0.1:abc|port
tcp:[::1:5|bracket
tcp:::1:5|port
tcp:1.2.3:5|v4
tcp:127.0.0.1:5/bogus|proto
udp::5|noaddr
EOF

# Bad numbers: exit 2, the option and its value named.
while IFS='|' read -r opt arg name; do
	[ -n "$opt" ] || continue
	run -l tcp:127.0.0.1:0 "$opt" "$arg"
	is_rc 2 "$opt $arg: usage error"
	lines "$tmp/err" "stampd: $name $arg: " 1 "$opt $arg: named"
done <<'EOF'
-w|0|--workers
-w|abc|--workers
-w|1025|--workers
-w||--workers
-D|-1|--delay
-D|1.5|--delay
-b|0|--backlog
-b|65536|--backlog
--linger|60001|--linger
--max-workers|0|--max-workers
--min-spare|-1|--min-spare
--max-spare|0|--max-spare
--ready-fd|2|--ready-fd
--udp-rate|-1|--udp-rate
--log-rate|-1|--log-rate
--log-rate|1000001|--log-rate
--max-conns|0|--max-conns
--per-ip|0|--per-ip
--rate|0|--rate
--announce-ttl|0|--announce-ttl
EOF

# --announce: a target to send to, never sent to here (a usage error).
for spec in tcp:239.255.19.37:1937 udp:*:1937 udp:239.255.19.37:0 \
    udp:0.0.0.0:1937 udp:239.255.19.37; do
	run -l tcp:127.0.0.1:0 --announce "$spec"
	is_rc 2 "--announce $spec: usage error"
	lines "$tmp/err" "stampd: --announce $spec: " 1 \
	    "--announce $spec: named"
done
run -l tcp:127.0.0.1:0 --every 5
is_rc 2 "--every without --announce: usage error"
has "$tmp/err" "--announce" "--every without --announce: named"

run -l tcp:127.0.0.1:0 -m dynamic --min-spare 9 --max-spare 8
is_rc 2 "--min-spare above --max-spare: usage error"
has "$tmp/err" "--min-spare 9 is more than --max-spare 8" \
    "--min-spare above --max-spare: named"

run --model bogus -l tcp:127.0.0.1:0
is_rc 2 "--model bogus: usage error"
lines "$tmp/err" "stampd: --model bogus: no such model" 1 \
    "--model bogus: named"

run -l tcp:127.0.0.1:0 -P bogus
is_rc 2 "-P bogus: usage error"
lines "$tmp/err" "stampd: --protocol bogus: " 1 "-P bogus: named"

for arg in 0 abc 86401; do
	run -l tcp:127.0.0.1:0 --stats-interval "$arg"
	is_rc 2 "--stats-interval $arg: usage error"
	lines "$tmp/err" "stampd: --stats-interval $arg: " 1 \
	    "--stats-interval $arg: named"
done

run --inetd -l tcp:127.0.0.1:0
is_rc 2 "--inetd with -l: usage error"
has "$tmp/err" "--inetd" "--inetd with -l: named"

# Standard input is /dev/null here, which is no socket.
run --inetd
is_rc 1 "--inetd without a socket on standard input: runtime failure"
lines "$tmp/err" "stampd: " 1 "--inetd without a socket: one line"

run -l tcp:127.0.0.1:0 extra
is_rc 2 "an operand: usage error"
lines "$tmp/err" "stampd: extra: unexpected argument" 1 "an operand: named"

# A port in use: bind one with a daemon of our own, then ask for it again.
stampd_start -l tcp:127.0.0.1:0
ok $? "a daemon reports its port"
busy=$(stampd_port tcp 127.0.0.1 stamp)
if [ -n "$busy" ]; then
	run -l "tcp:127.0.0.1:$busy"
	is_rc 1 "tcp:127.0.0.1:$busy in use: runtime failure"
	lines "$tmp/err" \
	    "stampd: bind tcp:127.0.0.1:$busy: Address already in use" 1 \
	    "tcp:127.0.0.1:$busy in use: named with the reason"
	stampd_stop
	rc=$?
	[ "$rc" -eq 0 ]
	ok $? "the daemon stops on SIGTERM with exit 0 ($rc)"
fi

# An address that is not this host's: bind refuses it.
run -l tcp:192.0.2.1:0
is_rc 1 "tcp:192.0.2.1:0: runtime failure"
lines "$tmp/err" \
    "stampd: bind tcp:192.0.2.1:0: Cannot assign requested address" 1 \
    "tcp:192.0.2.1:0: named with the reason"

# --check: the words alone; nothing bound (a port in use is no matter),
# nothing said when they are good, the same messages as a start when not.
run --check -l tcp:192.0.2.1:0 -m prefork --ready-fd 99
is_rc 0 "--check, a good command line, even with a closed --ready-fd"
empty "$tmp/out" "--check: nothing on stdout"
empty "$tmp/err" "--check: nothing on stderr"
run --check -l tcp:127.0.0.1:99999
is_rc 2 "--check, a bad listener: usage error"
has "$tmp/err" "stampd: --listen tcp:127.0.0.1:99999:" \
    "--check, a bad listener: named"
run --check -u stampd-no-such-user
is_rc 1 "--check -u stampd-no-such-user: runtime failure"
has "$tmp/err" "stampd: --user stampd-no-such-user: no such user" \
    "--check, a user not here: named"

done_testing
