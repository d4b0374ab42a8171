#!/bin/sh
# interop_rdate.t: Debian's rdate(8), the RFC 868 client inetd's time
# service was made for, reads our time listeners over TCP and UDP, IPv4
# and IPv6, and prints the date we sent.
#
# rdate sets the clock unless told -p: it is only ever run through
# print_date below, which always passes -p.
. "$(dirname "$0")/../lib.sh"

lib_need rdate

# rdate prints local time: ours and date(1)'s then agree.
TZ=UTC
export TZ

# print_date WHAT ARG...: run rdate -p ARG..., check its exit status and
# that it printed a date between the times taken before and after.  It
# has no timeout of its own over UDP, hence timeout(1).
print_date()
{
	local what="$1" out t0 t1 line d secs

	shift
	out=$LIB_TMP/rdate.out
	t0=$(date +%s)
	lib_timeout 10 rdate -p "$@" > "$out" 2>&1
	ok $? "rdate -p $*: exits 0" || diag_file "$out"
	t1=$(date +%s)
	note "rdate -p $*: $(cat "$out")"
	line=$(sed -n 1p "$out")
	# OpenBSD's rdate says "rdate: [host]<TAB>date"; Debian's the date.
	d=$(printf '%s\n' "$line" | sed 's/^rdate: \[[^]]*\][[:space:]]*//')
	like "$d" '^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z][a-z] +[0-9]' \
	    "$what: rdate prints a date"
	secs=$(date -d "$d" +%s 2>/dev/null)
	within "$secs" "$t0" "$t1" "$what: the date rdate printed is now"
}

stampd_start -l tcp:127.0.0.1:0/time -l udp:127.0.0.1:0/time \
    -l 'tcp:[::1]:0/time'
ok $? "stampd serves time on TCP and UDP, 127.0.0.1 and ::1" || done_testing
T=$(stampd_port tcp 127.0.0.1 time)
U=$(stampd_port udp 127.0.0.1 time)
T6=$(stampd_port tcp ::1 time)
note "ports: tcp $T udp $U tcp6 $T6"

print_date "tcp 127.0.0.1" -o "$T" 127.0.0.1
print_date "udp 127.0.0.1" -u -o "$U" 127.0.0.1
print_date "tcp ::1" -6 -o "$T6" ::1

stampd_stop
is $? 0 "stampd exits 0 on TERM"

done_testing
