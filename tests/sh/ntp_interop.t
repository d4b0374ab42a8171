#!/bin/sh
# ntp_interop.t: NTP clients that no one here wrote get the time from
# stampd, in every model: chrony's chronyd -Q, and ntpsec's ntpdig and
# ntpdate -q.  ntpdig and ntpdate ask port 123 and nothing else, and
# ntpdate asks from port 123 too (the one port below 1024 that an ntp
# listener answers), so the test runs in a network namespace of its own,
# where port 123 of 127.0.0.1 and ::1 is ours alone and no other host is
# reachable.  Needs root (unshare -n).
#
# With --local-stratum 8 every client takes the time, at the stratum
# stampd was told, with an offset under a second (the same clock: stampd
# serves the host's).  Without it, stampd serves what the kernel says of
# the clock: where it is unsynchronized, as on a fresh VM, every reply says
# so (leap 3) and every client refuses it; where it is synchronized, they
# take it at stratum 3.
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root: a network namespace and port 123"
	exit 0
fi
if [ -z "${NTP_INTEROP_NETNS:-}" ]; then
	NTP_INTEROP_NETNS=1 exec unshare -n sh "$0" "$@"
fi
. "$(dirname "$0")/../lib.sh"

lib_need ip ss chronyd ntpdig ntpdate python3
ip link set lo up || bail "ip link set lo up in the new namespace"

# chrony SECS: chronyd -Q, once, four samples of 127.0.0.1, for at most
# SECS (scaled); a pid file of its own, no command port, so that a chronyd
# that serves this machine is no obstacle.
chrony()
{
	lib_timeout $(($1 + 10)) chronyd -Q -f /dev/null -t "$(lib_scale "$1")" \
	    "pidfile $LIB_TMP/chronyd.pid" 'cmdport 0' \
	    'server 127.0.0.1 iburst maxsamples 4'
}

# free: nothing holds port 123 any more.  A model's sockets may outlive
# its exit for a moment (io_uring's are released by the kernel after the
# ring is gone), and the next stampd binds the same port.
free()
{
	[ -z "$(ss -Hlun 'sport = :123')" ]
}

# start ARG...: stampd_start, once the port is free.
start()
{
	lib_wait 5 free || diag "port 123 still held: $(ss -Hlunp)"
	stampd_start "$@"
}

# offset_ok SECONDS: |SECONDS| is under one second.
offset_ok()
{
	awk -v x="$1" 'BEGIN { exit !(x ~ /^[-+]?[0-9.]+(e[-+]?[0-9]+)?$/ &&
	    x > -1 && x < 1) }'
}

# ntpdig_asks ADDR STRATUM WHAT: ntpdig takes the time from ADDR at
# STRATUM; its line: "DATE TIME (+0000) OFFSET +/- ERROR ADDR sN LEAP".
ntpdig_asks()
{
	local out=$LIB_TMP/ntpdig.out

	lib_timeout 10 ntpdig -t 2 "$1" > "$out" 2>&1
	ok $? "$3: ntpdig $1 exits 0" || diag_file "$out"
	like "$(cat "$out")" " s$2 " "$3: ntpdig says stratum $2"
	offset_ok "$(awk '{ print $4 }' "$out")"
	ok $? "$3: ntpdig's offset is under a second" || diag_file "$out"
}

# ntpdate_asks STRATUM WHAT: ntpdate -q, from port 123, the same way.
ntpdate_asks()
{
	local out=$LIB_TMP/ntpdate.out

	lib_timeout 10 ntpdate -q 127.0.0.1 > "$out" 2>&1
	ok $? "$2: ntpdate -q exits 0" || diag_file "$out"
	like "$(cat "$out")" " s$1 " "$2: ntpdate says stratum $1"
}

# chronyd_asks WHAT: chronyd -Q takes four samples and says how wrong the
# clock is; it exits 1 if it found no source it would synchronize to.
chronyd_asks()
{
	local out=$LIB_TMP/chronyd.out x

	chrony 10 > "$out" 2>&1
	ok $? "$1: chronyd -Q synchronizes to stampd" || diag_file "$out"
	x=$(sed -n 's/.*System clock wrong by \([-+0-9.e]*\) seconds.*/\1/p' \
	    "$out")
	offset_ok "$x"
	ok $? "$1: chronyd finds the clock right to a second ($x s)" ||
	    diag_file "$out"
}

for m in $(lib_models); do
	start -m "$m" --local-stratum 8 -l udp:127.0.0.1:123/ntp \
	    -l 'udp:[::1]:123/ntp'
	ok $? "$m: stampd serves ntp on port 123" || continue
	ntpdig_asks 127.0.0.1 8 "$m"
	ntpdig_asks ::1 8 "$m over IPv6"
	ntpdate_asks 8 "$m"
	chronyd_asks "$m"
	stampd_stop
	is $? 0 "$m: stampd exits 0 on TERM"
done

# The kernel's word, in every model: ntpdig is quick to say yes or no.
if lib_synced; then
	note "the kernel says the clock is synchronized: stratum 3"
else
	note "the kernel says the clock is unsynchronized: leap 3"
fi
for m in $(lib_models); do
	start -m "$m" -l udp:127.0.0.1:123/ntp
	ok $? "$m: stampd serves ntp without --local-stratum" || continue
	out=$LIB_TMP/ntpdig.out
	lib_timeout 10 ntpdig -t 2 127.0.0.1 > "$out" 2>&1
	st=$?
	if lib_synced; then
		is $st 0 "$m: a synchronized clock: ntpdig takes it" ||
		    diag_file "$out"
		like "$(cat "$out")" " s3 " "$m: at stratum 3"
	else
		[ $st != 0 ]
		ok $? "$m: an unsynchronized clock: ntpdig refuses it" ||
		    diag_file "$out"
	fi
	stampd_stop
	is $? 0 "$m: stampd exits 0 on TERM"
done
start -l udp:127.0.0.1:123/ntp
ok $? "stampd serves ntp for chronyd, without --local-stratum"
out=$LIB_TMP/chronyd.out
chrony 6 > "$out" 2>&1
st=$?
if lib_synced; then
	is $st 0 "a synchronized clock: chronyd -Q takes it" ||
	    diag_file "$out"
else
	[ $st != 0 ]
	ok $? "an unsynchronized clock: chronyd -Q refuses it" ||
	    diag_file "$out"
fi
stampd_stop
is $? 0 "stampd exits 0 on TERM"

done_testing
