#!/bin/sh
# multicast.t: what only datagrams can do.  stampd --announce sends the
# time, unasked, to a multicast group or a broadcast address; stamp
# --listen joins the group (or waits on the port) and prints what comes.
# Every receiver of a group gets every announcement; one that joins late
# gets only the later ones, as nothing is kept; one outside the group gets
# none.
#
# All of it runs inside a network namespace made here and deleted at the
# end: in the host's namespace a multicast or broadcast datagram (even to
# 255.255.255.255) may leave the machine through its real interface, and
# no test traffic may.  The namespace holds lo (multicast on, 224.0.0.0/4
# routed to it) and, for IPv6, a veth pair whose two ends are both inside
# it: Linux turns an IPv6 route through lo into a reject route, so lo
# cannot carry IPv6 multicast.  Nothing in the namespace leads out of it.
# Without root no namespace can be made: then this fails, and never falls
# back to the host's interfaces.
. "$(dirname "$0")/../lib.sh"

lib_need ip

NS=stampd-mc-$$
MC_NS=
GROUP=239.255.19.37
OTHER=239.255.19.38
GROUP6=ff05::1937

# ---- the namespace ---------------------------------------------------

mc_cleanup()
{
	local p

	# lib.sh's EXIT work first: it stops what lib_spawn and mc_spawn
	# started, by pid, and removes the temporary directory.
	lib_cleanup
	[ -n "$MC_NS" ] || return
	for p in $(ip netns pids "$NS" 2> /dev/null); do
		kill -KILL "$p" 2> /dev/null
	done
	ip netns del "$NS" || echo "# could not delete namespace $NS" >&2
}
trap mc_cleanup EXIT

# in_ns CMD [ARG...]: run CMD inside the namespace, bounded in time.
in_ns()
{
	timeout -k 5 "$(lib_scale 30)" ip netns exec "$NS" "$@"
}

if [ "$(id -u)" != 0 ]; then
	ok 1 "make network namespace $NS"
	diag "this test makes a network namespace (ip netns add), which" \
	    "needs root; it never falls back to the host's interfaces," \
	    "where multicast and broadcast would leave the machine:" \
	    "run make check as root"
	done_testing
fi
err=$(ip netns add "$NS" 2>&1)
if ! ok $? "make network namespace $NS"; then
	diag "ip netns add $NS: $err" \
	    "without a namespace of its own this test cannot run: it never" \
	    "falls back to the host's interfaces"
	done_testing
fi
MC_NS=1
# IPv4: lo, multicast on, the groups routed to it with 127.0.0.1 as the
# source (else a packet to a group leaves lo from 0.0.0.0).  IPv6: a veth
# pair, both ends here, without duplicate address detection so that its
# link-local addresses are usable at once.
err=$(in_ns sh -e -c '
	ip link set lo up
	ip link set lo multicast on
	ip route add 224.0.0.0/4 dev lo src 127.0.0.1
	ip link add mc0 type veth peer name mc1
	echo 0 > /proc/sys/net/ipv6/conf/mc0/accept_dad
	echo 0 > /proc/sys/net/ipv6/conf/mc1/accept_dad
	ip link set mc0 up
	ip link set mc1 up' 2>&1)
if ! ok $? "lo up with multicast and 224.0.0.0/4, veth mc0-mc1 inside"; then
	diag "$err"
	done_testing
fi
links=$(in_ns ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
    sort | tr '\n' ' ')
is "$links" "lo mc0 mc1 " "the namespace holds lo and the veth pair only"
like "$(in_ns ip route get $GROUP)" "^multicast $GROUP dev lo " \
    "$GROUP goes through lo"
like "$(in_ns ip route get 255.255.255.255 2>&1)" "unreachable" \
    "255.255.255.255 has no route: nothing is there to carry it out"

# ---- helpers ---------------------------------------------------------

# mc_spawn OUT ERR CMD [ARG...]: start CMD in the namespace, in the
# background, stdout to OUT and stderr to ERR; sets LIB_PID.  timeout(1)
# stays in this namespace, ip netns exec becomes CMD: stopping the pid
# stops CMD, as timeout passes TERM on.
mc_spawn()
{
	local out=$1 err=$2

	shift 2
	: > "$out"
	: > "$err"
	timeout -k 5 "${LIB_LIFETIME:-600}" ip netns exec "$NS" "$@" \
	    > "$out" 2> "$err" &
	LIB_PID=$!
	LIB_PIDS="$LIB_PIDS $LIB_PID"
}

# The patience of a receiver (stamp -t), in seconds, scaled.
T30=$(lib_scale 30)

# mc_wait FILE REGEX [N]: at most 10 s (scaled) for N (1) lines of FILE to
# match.
mc_wait()
{
	local i=0 got most

	most=$(($(lib_scale 10) * 10))
	while [ $i -lt "$most" ]; do
		got=$(grep -Ec -- "$2" "$1")
		[ "${got:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	diag "waited $(lib_scale 10) s for ${3:-1} lines matching '$2' in $1:"
	diag_file "$1"
	return 1
}

# mc_finish PID: at most 30 s (scaled) for PID to end by itself, then stop
# it; returns its exit status.
mc_finish()
{
	lib_wait 30 lib_gone "$1" ||
	    diag "pid $1 still runs after $(lib_scale 30) s: stopping it"
	lib_stop "$1"
}

# receiver NAME SPEC [ARG...]: start stamp -v --listen SPEC in the
# namespace as NAME (its output in $T/NAME.out and .err, its pid in
# PID_NAME) and wait until it has joined; sets PORT to the port it bound.
receiver()
{
	local name=$1 spec=$2

	shift 2
	mc_spawn "$T/$name.out" "$T/$name.err" "$STAMP" -v -l "$spec" "$@"
	eval "PID_$name=$LIB_PID"
	mc_wait "$T/$name.err" '^stamp: listening on udp ' || return 1
	PORT=$(sed -n 's/^stamp: listening on udp .*:\([0-9][0-9]*\) (.*/\1/p' \
	    "$T/$name.err")
}

# sender NAME ARG...: start stampd -l udp:127.0.0.1:0 ARG... in the
# namespace and wait for its listening and announcing lines; its log in
# $T/NAME.err, its pid in PID_NAME, its UDP port in SPORT.
sender()
{
	local name=$1 n

	shift
	n=$(printf '%s\n' "$@" | grep -c '^--announce$')
	mc_spawn "$T/$name.out" "$T/$name.err" "$STAMPD" \
	    -l udp:127.0.0.1:0 "$@"
	eval "PID_$name=$LIB_PID"
	mc_wait "$T/$name.err" '^stampd: listening ' || return 1
	mc_wait "$T/$name.err" '^stampd: announcing ' "$n" || return 1
	SPORT=$(stampd_port udp 127.0.0.1 stamp "$T/$name.err")
}

# seconds FILE: the first field of each line, on one line.
seconds()
{
	cut -d' ' -f1 "$1" | tr '\n' ' '
}

# ttls FILE: the TTLs that stamp -v reported, each once, on one line.
ttls()
{
	sed -n 's/^stamp: .*: announcement of .* bytes, ttl \([0-9-]*\):.*/\1/p' \
	    "$1" | sort -u | tr '\n' ' '
}

# steady FILE: the seconds of FILE go up by exactly one each line.
steady()
{
	awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 }
	    END { exit bad || NR < 2 }' "$1"
}

T=$LIB_TMP

# ---- 1. several receivers, one sender, IPv4 multicast ------------------

receiver r1 "udp:$GROUP:0" -n 4 -t "$T30"
ok $? "receiver 1 joins $GROUP on a port of the kernel's choice" ||
    done_testing
P=$PORT
note "port $P"
receiver r2 "udp:$GROUP:$P" -n 4 -t "$T30"
ok $? "receiver 2 joins $GROUP on the same port $P"
receiver out "udp:$OTHER:$P" -n 1 -t 8
ok $? "an outsider joins $OTHER on the same port $P"
receiver any "udp:0.0.0.0:$P" -n 1 -t 8
ok $? "another binds 0.0.0.0 on the same port $P, and joins nothing"

sender s1 --announce "udp:$GROUP:$P" --every 1
ok $? "stampd announces to $GROUP:$P beside a listener" || done_testing
like "$(grep '^stampd: announcing' "$T/s1.err")" \
    "^stampd: announcing udp $GROUP:$P stamp every 1s, ttl 1\$" \
    "stampd says where it announces, how often and with which TTL"

mc_finish "$PID_r1"
is $? 0 "receiver 1 exits 0 after 4 announcements"
mc_finish "$PID_r2"
is $? 0 "receiver 2 exits 0 after 4 announcements"
is "$(wc -l < "$T/r1.out" | tr -d ' ')" 4 "receiver 1 printed 4 lines"
is "$(wc -l < "$T/r2.out" | tr -d ' ')" 4 "receiver 2 printed 4 lines"
is "$(seconds "$T/r2.out")" "$(seconds "$T/r1.out")" \
    "test 1 'two receivers get the same announcements'"
is "$(cut -d' ' -f 8- "$T/r2.out")" "$(cut -d' ' -f 8- "$T/r1.out")" \
    "both name the same sender"
like "$(sed -n 1p "$T/r1.out")" \
    "^[0-9]+ [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC offset [-+][0-9]+\\.[0-9]{3}s from 127\\.0\\.0\\.1:[0-9]+ \\(stamp/udp announcement\\)\$" \
    "an announcement prints as an answer does, with its sender"
note "two receivers of $GROUP:$P, side by side:"
note "$(paste -d'|' "$T/r1.out" "$T/r2.out" | sed 's/|/   |   /')"

# ---- 2. no history -----------------------------------------------------

# Receivers 1 and 2 had their 4 and left: whatever was sent until then is
# gone, and a receiver that joins now starts from the next one.
receiver late "udp:$GROUP:$P" -n 2 -t "$T30"
ok $? "a late receiver joins $GROUP after the others left"
mc_finish "$PID_late"
is $? 0 "the late receiver exits 0 after 2 announcements"
first=$(sed -n 1p "$T/late.out" | cut -d' ' -f1)
last=$(sed -n '$p' "$T/r1.out" | cut -d' ' -f1)
[ -n "$first" ] && [ -n "$last" ] && [ "$first" -gt "$last" ]
ok $? "test 2 'a late receiver gets no history': its first $first comes after the $last the others saw last"

# ---- 3. outside the group ----------------------------------------------

# The outsider listened for 8 s on the same port, while the sender sent
# to the group next door every second and the others received.
mc_finish "$PID_out"
is $? 1 "test 3 'a receiver outside the group gets none': exits 1 on its timeout"
is "$(wc -c < "$T/out.out" | tr -d ' ')" 0 "the outsider printed nothing"
like "$(cat "$T/out.err")" "timed out after 8s, 0 of 1 announcements" \
    "the outsider says it timed out with none"
# Linux would hand it the group's datagrams (IP_MULTICAST_ALL), as others
# on the host joined on its port; stamp turns that off.
mc_finish "$PID_any"
is $? 1 "test 3 'a socket that joined no group gets none': exits 1 on its timeout"
is "$(wc -c < "$T/any.out" | tr -d ' ')" 0 "it printed nothing"

# ---- 4. the steady schedule --------------------------------------------

steady "$T/r1.out"
ok $? "test 4 'the schedule is steady': each announcement one second after the last, none skipped" ||
    diag_file "$T/r1.out"
steady "$T/late.out"
ok $? "and so for the late receiver"

# ---- 5. beside the listeners -------------------------------------------

# ask PORT: the stamp reply of udp 127.0.0.1:PORT in the namespace, CR
# dropped.  With netcat: stamp's resolver (AI_ADDRCONFIG) sees no IPv4
# address here but loopback's, and refuses 127.0.0.1.
ask()
{
	printf x | in_ns nc -n -u -w1 127.0.0.1 "$1" | tr -d '\r'
}
out=$(ask "$SPORT")
like "$out" '^[0-9]+$' "test 5 'announcing beside listeners': the sender still answers on udp 127.0.0.1:$SPORT"

# ---- 6. TTL 1 by default, more only when asked --------------------------

is "$(ttls "$T/r1.err")" "1 " "test 6 'TTL 1 by default': every announcement arrives with TTL 1"
lib_stop "$PID_s1"
is $? 0 "the sender exits 0 on TERM"
like "$(cat "$T/s1.err")" "announced udp $GROUP:$P stamp: [0-9]+ sent, 0 failed" \
    "the sender counted what it sent, and no failure"

receiver r3 "udp:$GROUP:0" -n 2 -t "$T30" --interface lo
ok $? "a receiver joins $GROUP on lo by name"
P=$PORT
sender s2 --announce "udp:$GROUP:$P" --announce-ttl 5 --announce-if lo
ok $? "stampd announces with --announce-ttl 5 --announce-if lo"
like "$(grep '^stampd: announcing' "$T/s2.err")" "ttl 5, via lo\$" \
    "stampd says TTL 5 through lo"
mc_finish "$PID_r3"
is $? 0 "the receiver on lo exits 0 after 2 announcements"
is "$(ttls "$T/r3.err")" "5 " "test 6 'TTL 5 when asked': they arrive with TTL 5"
lib_stop "$PID_s2"
is $? 0 "the sender exits 0 on TERM"

# ---- 7. broadcast ------------------------------------------------------

receiver b1 "udp:0.0.0.0:0" -n 2 -t "$T30"
ok $? "broadcast receiver 1 binds 0.0.0.0, no group" || done_testing
P=$PORT
receiver b2 "udp:0.0.0.0:$P" -n 2 -t "$T30"
ok $? "broadcast receiver 2 shares port $P"
sender s3 --announce "udp:127.255.255.255:$P"
ok $? "stampd announces to 127.255.255.255:$P, lo's broadcast address"
mc_finish "$PID_b1"
is $? 0 "broadcast receiver 1 exits 0 after 2 announcements"
mc_finish "$PID_b2"
is $? 0 "broadcast receiver 2 exits 0 after 2 announcements"
is "$(wc -l < "$T/b1.out" | tr -d ' ')" 2 "broadcast receiver 1 printed 2 lines"
is "$(seconds "$T/b2.out")" "$(seconds "$T/b1.out")" \
    "test 7 'broadcast reaches every receiver': both get the same"
lib_stop "$PID_s3"
is $? 0 "the sender exits 0 on TERM"

# Without SO_BROADCAST (netcat's -b) Linux refuses a broadcast address.
receiver b0 "udp:0.0.0.0:0" -n 1 -t "$T30"
P=$PORT
err=$(printf '1795604973\r\n' | in_ns nc -n -v -u -w0 127.255.255.255 "$P" 2>&1)
like "$err" 'Permission denied' "test 7 'a broadcast needs SO_BROADCAST': without it, EACCES"
printf '1795604973\r\n' | in_ns nc -n -b -u -w0 127.255.255.255 "$P"
mc_finish "$PID_b0"
is $? 0 "test 7 'a broadcast needs SO_BROADCAST': with it, the datagram arrives"

# 255.255.255.255 has no route here: only through an interface named.
receiver b3 "udp:0.0.0.0:0" -n 2 -t "$T30"
P=$PORT
sender s4 --announce "udp:255.255.255.255:$P" --announce-if lo
ok $? "stampd announces to 255.255.255.255:$P through lo"
mc_finish "$PID_b3"
is $? 0 "test 7 'limited broadcast through a named interface': 2 arrive"
lib_stop "$PID_s4"
is $? 0 "the sender exits 0 on TERM"

# ---- 8. a send that fails is not fatal ---------------------------------

sender s5 --announce "udp:255.255.255.255:$P"
ok $? "stampd starts announcing to 255.255.255.255 with no route to it"
mc_wait "$T/s5.err" 'announce udp 255\.255\.255\.255:[0-9]+ stamp: Network is unreachable'
ok $? "test 8 'a failed send is logged, not fatal': Network is unreachable"
lib_alive "$PID_s5"
ok $? "and stampd still runs"
out=$(ask "$SPORT")
like "$out" '^[0-9]+$' "and still answers on udp 127.0.0.1:$SPORT"
lib_stop "$PID_s5"
is $? 0 "the sender exits 0 on TERM"
like "$(cat "$T/s5.err")" "announced udp 255\\.255\\.255\\.255:$P stamp: 0 sent, [1-9][0-9]* failed" \
    "it counted the failures"

# ---- 9. IPv6 multicast, through the veth pair --------------------------

receiver v1 "udp:[$GROUP6]:0" -n 2 -t "$T30" --interface mc0
ok $? "IPv6 receiver 1 joins $GROUP6 on mc0" || done_testing
P=$PORT
receiver v2 "udp:[$GROUP6]:$P" -n 2 -t "$T30" --interface mc0
ok $? "IPv6 receiver 2 joins $GROUP6 on mc0, port $P"
sender s6 --announce "udp:[$GROUP6]:$P" --announce-if mc0
ok $? "stampd announces to [$GROUP6]:$P through mc0"
mc_finish "$PID_v1"
is $? 0 "IPv6 receiver 1 exits 0 after 2 announcements"
mc_finish "$PID_v2"
is $? 0 "IPv6 receiver 2 exits 0 after 2 announcements"
is "$(wc -l < "$T/v1.out" | tr -d ' ')" 2 "IPv6 receiver 1 printed 2 lines"
is "$(seconds "$T/v2.out")" "$(seconds "$T/v1.out")" \
    "test 9 'IPv6 multicast reaches every receiver': both get the same"
is "$(ttls "$T/v1.err")" "1 " "test 9 'hop limit 1 by default' for IPv6 too"
lib_stop "$PID_s6"
is $? 0 "the sender exits 0 on TERM"

# ---- 10. beside every model -------------------------------------------

# The announcer is a thread beside the model, and blocks every signal so
# that they reach the model's thread: each model must still serve, and
# stop on TERM with the announcer, exit status 0.
models=$(lib_models)
like "$(echo $models)" '^[a-z]' "stampd --help names its models: $(echo $models)"
for m in $models; do
	receiver "mod_$m" "udp:$GROUP:0" -n 1 -t "$T30"
	P=$PORT
	sender "s_$m" -m "$m" $(lib_model_args "$m" -w 2) \
	    --announce "udp:$GROUP:$P"
	ok $? "-m $m: stampd starts announcing" || continue
	eval "mc_finish \$PID_mod_$m"
	is $? 0 "-m $m: an announcement arrives"
	like "$(ask "$SPORT")" '^[0-9]+$' "-m $m: the listener answers"
	eval "lib_stop \$PID_s_$m"
	is $? 0 "test 10 'announcing beside every model': -m $m exits 0 on TERM, announcer and all"
	like "$(cat "$T/s_$m.err")" "announced udp $GROUP:$P stamp: [1-9][0-9]* sent, 0 failed" \
	    "-m $m: the announcer reports what it sent"
done

# ---- 11. a malformed announcement is skipped ----------------------------

# Anyone may send to a group or a port: a stray datagram is reported and
# skipped, and the next good one still counts.  Sent here by netcat,
# unicast to 127.0.0.1 inside the namespace.
receiver m1 "udp:0.0.0.0:0" -n 1 -t "$T30"
ok $? "a receiver waits on 0.0.0.0" || done_testing
P=$PORT
printf 'not a time\r\n' | in_ns nc -n -u -w0 127.0.0.1 "$P"
mc_wait "$T/m1.err" 'malformed stamp announcement \(skipped\): not a number'
ok $? "test 11 'a malformed announcement is skipped': it is reported"
lib_alive "$PID_m1"
ok $? "and the receiver goes on listening"
printf '1795604973\r\n' | in_ns nc -n -u -w0 127.0.0.1 "$P"
mc_finish "$PID_m1"
is $? 0 "the next good one counts: the receiver exits 0 after it"
like "$(cat "$T/m1.out")" "^1795604973 2026-11-25 11:09:33 UTC offset [-+][0-9.]+s from 127\\.0\\.0\\.1:[0-9]+ \\(stamp/udp announcement\\)\$" \
    "and prints it"
is "$(wc -l < "$T/m1.out" | tr -d ' ')" 1 "and only it"

# ---- 12. a stream cannot do it ----------------------------------------

# A TCP connection has two ends: Linux refuses to connect one to a group
# or a broadcast address, before a single packet leaves.
for a in $GROUP 127.255.255.255; do
	err=$(in_ns nc -n -v -z -w1 $a 1937 2>&1)
	st=$?
	is "$st" 1 "nc -z $a 1937 (tcp) fails"
	like "$err" 'Network is unreachable' \
	    "test 12 'a stream cannot be sent to a group or a broadcast address': $a"
done

# ---- 13. what is refused -----------------------------------------------

# try WANT_STATUS REGEX CMD...: CMD exits WANT_STATUS, stderr matching.
try()
{
	local want=$1 re=$2 st

	shift 2
	in_ns "$@" > "$T/try.out" 2> "$T/try.err"
	st=$?
	is "$st" "$want" "test 13 'what is refused': $* exits $want"
	like "$(cat "$T/try.err")" "$re" "and says why" || diag_file "$T/try.err"
}
try 2 'needs udp' "$STAMPD" --announce tcp:$GROUP:1937
try 2 'port 0 cannot be sent to' "$STAMPD" --announce udp:$GROUP:0
try 2 'want 1 to 86400' "$STAMPD" --announce udp:$GROUP:1937 --every 0.5
try 2 'want 1 to 255' "$STAMPD" --announce udp:$GROUP:1937 \
    --announce-ttl 256
try 2 'go with --announce' "$STAMPD" --every 5
try 1 'no-such-if' "$STAMPD" -l udp:127.0.0.1:0 \
    --announce udp:$GROUP:1937 --announce-if no-such-if
try 2 'over udp only' "$STAMP" -l tcp:$GROUP:1937
try 2 'go with --listen' "$STAMP" -n 3 127.0.0.1
try 2 'link-scope group needs --interface' "$STAMP" -l 'udp:[ff02::1937]:1937'

# ---- the end -----------------------------------------------------------

left=$(ip netns pids "$NS" | tr '\n' ' ')
is "$left" "" "no process is left in the namespace"

done_testing
