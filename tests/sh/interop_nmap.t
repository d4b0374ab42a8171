#!/bin/sh
# interop_nmap.t: nmap's NSE scripts rfc868-time and daytime read our time
# and daytime listeners over TCP and UDP.  The daytime script sends
# "dummy" first; a server must answer whatever the client sends.
#
# Both scripts' portrules want port 37 or 13 (or a service name that
# version detection gives); the "+" before a script's name runs it on our
# ephemeral ports anyway, so no -sV is needed.  Scans are kept minimal:
# one port, no DNS (-n), no host discovery (-Pn), loopback only.
. "$(dirname "$0")/../lib.sh"

lib_need nmap

# Both scripts print local time.
TZ=UTC
export TZ

# scan WHAT SCRIPT TRANSPORT PORT: nmap runs SCRIPT against PORT and the
# port is open; the script's output (the rest of its line) goes into
# $GOT, and the times before and after into $T0 and $T1.
scan()
{
	local what="$1" script="$2" tr="$3" port="$4" out flag

	out=$LIB_TMP/nmap.out
	flag=-sT
	[ "$tr" = udp ] && flag=-sU
	T0=$(date +%s)
	lib_timeout 60 nmap -n -Pn "$flag" -p "$port" --script "+$script" \
	    --script-timeout 30s --host-timeout 30s 127.0.0.1 > "$out" 2>&1
	ok $? "$what: nmap $flag -p $port --script +$script exits 0" ||
	    diag_file "$out"
	T1=$(date +%s)
	grep -E "^($port/$tr|\\|)" "$out" | while read -r l; do
		note "$l"
	done
	grep -Eq "^$port/$tr +open " "$out"
	ok $? "$what: nmap finds port $port/$tr open" || diag_file "$out"
	GOT=$(sed -n "s/^|[_ ]$script: //p" "$out")
	like "$GOT" . "$what: the $script script prints a result" ||
	    diag_file "$out"
}

stampd_start -l tcp:127.0.0.1:0/time -l udp:127.0.0.1:0/time \
    -l tcp:127.0.0.1:0/daytime -l udp:127.0.0.1:0/daytime
ok $? "stampd serves time and daytime on TCP and UDP" || done_testing
T=$(stampd_port tcp 127.0.0.1 time)
TU=$(stampd_port udp 127.0.0.1 time)
D=$(stampd_port tcp 127.0.0.1 daytime)
DU=$(stampd_port udp 127.0.0.1 daytime)
note "ports: time tcp $T udp $TU, daytime tcp $D udp $DU"

# rfc868-time prints e.g. 2026-11-25T11:00:43.
check_time()
{
	like "$GOT" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$' \
	    "$1: rfc868-time prints an ISO 8601 date"
	within "$(date -d "$GOT" +%s 2>/dev/null)" "$T0" "$T1" \
	    "$1: the date rfc868-time printed is now"
}

# daytime prints our line as it came, its CR escaped as \x0D.
CTIME='^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [ 0-9][0-9]'
CTIME="$CTIME [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}\$"
check_daytime()
{
	local d="${GOT%\\x0D}"

	is "$d\\x0D" "$GOT" "$1: the daytime line ended in CR"
	like "$d" "$CTIME" "$1: daytime prints a ctime(3) line"
	within "$(date -d "$d" +%s 2>/dev/null)" "$T0" "$T1" \
	    "$1: the date daytime printed is now"
}

scan "time tcp" rfc868-time tcp "$T"
check_time "time tcp"
scan "daytime tcp" daytime tcp "$D"
check_daytime "daytime tcp"

# nmap sends its UDP probes through a raw socket.
if [ "$(id -u)" = 0 ]; then
	scan "time udp" rfc868-time udp "$TU"
	check_time "time udp"
	scan "daytime udp" daytime udp "$DU"
	check_daytime "daytime udp"
else
	skip "time udp: nmap -sU" "a UDP scan needs root"
	skip "daytime udp: nmap -sU" "a UDP scan needs root"
fi

stampd_stop
is $? 0 "stampd exits 0 on TERM"

done_testing
