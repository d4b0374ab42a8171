#!/bin/sh
# bench/run.sh: every server model of stampd side by side with nginx's
# stream module and a minimal reference server (make bench).
#
# One run, several rounds; within a round the servers take turns, so
# that a noisy minute of the machine hurts them all alike, and the tables
# show medians over the rounds.  Sections:
#   tcp    connections/s and latency at concurrency 1, 16, 256 and 1024,
#          stampbench -t 2, 2 workers each, unpinned; and stampbench's own
#          cost with 1 thread against the event model, today's and the
#          one before (see BENCH_OLD_REV), in the same rounds
#   cost   server CPU per connection: the server pinned to CPU 0 with 1
#          worker, stampbench -t 1 pinned to CPU 1, concurrency 16 (for
#          the event model, the stampbench before too)
#   udp    datagrams/s (2 workers, unpinned) and CPU per datagram (pinned)
#   syscalls  the server's system calls per connection and per datagram,
#          counted by strace -f -c over SYS_N exchanges, once per server
#   delay  --delay 100 and 200 clients at once, once per model
#   proxy-silent  each model's replies/s on a plain listener (c=16,
#          stampbench -t 2, 2 workers) beside a +proxy listener, without
#          and then with BENCH_SILENT (10000) connections to the +proxy
#          one that send nothing, held from 127.0.0.1 (a peer that
#          --proxy-from allows by default); the ratio is what a model
#          keeps of its throughput
#   ntp    NTP replies/s of stampd's event and uring models and of chronyd,
#          each with a configuration of the bench's own, at c=16 and 256:
#          pinned as cost (one worker; chronyd is one thread) with the
#          server's CPU per reply, and unpinned (2 workers); and the
#          offsets a chrony client measures from each (same clock: the
#          truth is 0), median and spread
#   nts    NTS (RFC 8915) of stampd's event and uring models and of
#          chronyd, the same ECDSA P-256 certificate for all, pinned as
#          cost: whole key establishments a second (stampbench -P nts-ke,
#          c=16) with the server's CPU per key establishment, and
#          authenticated NTP replies a second (stampbench -P nts, c=16
#          and 256)
# Every server is stopped by its pid (also on an interrupt), every
# stampbench runs under timeout, every port is picked by the kernel or,
# for nginx, tried at random until one is free; all on 127.0.0.1.
#
# Environment: STAMPD STAMPBENCH STAMP_BUILD (from make), BENCH_ROUNDS (3),
# BENCH_SECS (3), BENCH_QUICK=1 (1 round of 1 s, charts into the build
# directory), BENCH_SERVERS, BENCH_SECTIONS (subsets, space-separated),
# BENCH_DOC=0 (leave docs/ alone), BENCH_REPORT=1 (measure nothing: tables,
# charts and docs again from the last results.dat), BENCH_OLD_STAMPBENCH (a
# stampbench to compare ours with) or BENCH_OLD_REV (the commit whose
# stampbench is built for that, under $STAMP_BUILD/bench/old; "none": no
# comparison), BENCH_NTP_SERVERS (event uring chronyd), BENCH_NTP_SAMPLES
# (64: the chrony client's offsets per server and round), BENCH_NTS_SERVERS
# (event uring chronyd), BENCH_NTS_PROCESSES (1: chronyd's ntsprocesses,
# its default), BENCH_SILENT (10000: the proxy-silent section's silent
# peers).  Progress goes to stderr, the tables to stdout and to
# $STAMP_BUILD/bench/results.md (the ntp section's to ntp.md, the nts
# section's to nts.md, proxy-silent's to proxy-silent.md), every run to
# results.dat.

set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=${STAMP_BUILD:-$root/build}
STAMPD=${STAMPD:-$build/stampd}
STAMPBENCH=${STAMPBENCH:-$build/stampbench}
REF=$build/bench/refserver
out=$build/bench
raw=$out/results.dat
md=$out/results.md
PATH=$PATH:/usr/sbin:/sbin
export PATH

rounds=${BENCH_ROUNDS:-3}
secs=${BENCH_SECS:-3}
img=$root/docs/img
doc=${BENCH_DOC:-1}
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=1
	secs=1
	img=$out/img
	doc=0
fi
sections=${BENCH_SECTIONS:-tcp cost udp syscalls delay proxy-silent ntp nts}
ntp_samples=${BENCH_NTP_SAMPLES:-64}
ntpmd=$out/ntp.md
ntsmd=$out/nts.md
silentmd=$out/proxy-silent.md
silent_n=${BENCH_SILENT:-10000}
nts_procs=${BENCH_NTS_PROCESSES:-1}
# The stampbench before the cheaper loop of issue 12: what the client
# table compares ours with, unless BENCH_OLD_STAMPBENCH names another.
old_rev=${BENCH_OLD_REV:-95a4810}
old_sb=${BENCH_OLD_STAMPBENCH:-}
# Exchanges counted under strace, per server and transport.
sys_n=3000
hz=$(getconf CLK_TCK)
module=/usr/lib/nginx/modules/ngx_stream_module.so
# One line of results.dat: the columns of its first line.
fmt='%-7s %-10s %5s %3s %10s %9s %6s %4s %7s %7s %7s %8s %6s %7s %6s %2s\n'

pid=
spid=
tmp=
name=
old_desc=
log()
{
	printf 'bench: %s\n' "$*" >&2
}

# note: for the log and, once each, for the report.
note()
{
	log "$*"
	echo "# note: $*" >>"$raw"
}

die()
{
	log "$*"
	exit 1
}

# words WORD...: how many.
words()
{
	echo $#
}

# alive PID: running, not a zombie waiting for us.
alive()
{
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# term PID: TERM, then at most 5 s for it to go; 0 once it has.
term()
{
	kill -TERM "$1" 2>/dev/null
	i=0
	while alive "$1" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	! alive "$1"
}

# stop_side: stop $spid, the process beside a run (a chrony client,
# strace), by its pid: TERM, 5 s, KILL.
stop_side()
{
	term "$spid"
	kill -KILL "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
}

# Stop the server by its pid: TERM, 5 s, KILL; then whatever of its
# process group is left (pool workers), while the leader's zombie still
# holds the group's id so that it cannot name anyone else.
stop()
{
	[ -n "$pid" ] || return 0
	term "$pid" || log "$name (pid $pid) ignored TERM: killed"
	kill -KILL "$pid" 2>/dev/null
	kill -KILL "-$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

cleanup()
{
	[ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
	stop
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 141' PIPE
trap 'exit 143' TERM

# install PACKAGE...: as root with apt-get, or say what to install and fail.
install()
{
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "needs Debian packages: $* (apt-get install $*)"
	fi
	log "installing $*"
	apt-get update -qq >&2 &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends "$@" >&2 ||
	    die "apt-get install $* failed"
}

# The CPU time of the server so far, in clock ticks: utime, stime, cutime
# and cstime of every process in its group or a child of it.  cutime holds
# the children already reaped; the live ones count for themselves.
ticks()
{
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '
	{
		sub(/^.*\) /, "")
		if ($2 == g || $3 == g)
			t += $12 + $13 + $14 + $15
	}
	END { print t + 0 }'
}

# A port below the ephemeral range, at random: for nginx, which cannot be
# told to take port 0 and say which it got.
random_port()
{
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
	r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	echo $((10000 + r % (lo - 10000)))
}

# start_nginx TRANSPORT WORKERS PIN: sets pid and port.
start_nginx()
{
	nd=$tmp/nginx
	mkdir -p "$nd"
	lm=
	[ -f "$module" ] && lm="load_module $module;"
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(random_port)
		if [ "$1" = udp ]; then
			listen="127.0.0.1:$port udp"
		else
			listen="127.0.0.1:$port backlog=4096"
		fi
		sed -e "s|@WORKERS@|$2|" -e "s|@DIR@|$nd|" \
		    -e "s|@LOAD_MODULE@|$lm|" -e "s|@LISTEN@|$listen|" \
		    "$root/bench/nginx.conf.in" >"$nd/nginx.conf"
		rm -f "$nd/nginx.pid" "$nd/error.log"
		$3 setsid nginx -p "$nd/" -c "$nd/nginx.conf" \
		    -e "$nd/error.log" >/dev/null 2>&1 &
		pid=$!
		i=0
		while alive "$pid" && [ ! -s "$nd/nginx.pid" ] &&
		    [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if alive "$pid" && [ -s "$nd/nginx.pid" ]; then
			[ "$(cat "$nd/nginx.pid")" = "$pid" ] && return 0
			die "nginx: its pid file does not say $pid"
		fi
		if ! grep -q 'in use' "$nd/error.log" 2>/dev/null; then
			note "nginx: did not start:" \
			    "$(tail -1 "$nd/error.log" 2>/dev/null)"
			stop
			return 1
		fi
		stop
	done
	note "nginx: no free port in 10 tries"
	return 1
}

# takes MODEL OPTION: stampd --help's "taken by -m" line under OPTION
# (--workers, --max-workers) names MODEL, or it has none (every model
# takes it); so a model added later gets only the options it takes.
takes()
{
	"$STAMPD" --help | awk -v m="$1" -v o="$2" '
	/^ +-/ { on = index($0, o " ") > 0; next }
	on && /taken by -m / {
		sub(/.*taken by -m /, "")
		gsub(/,/, " ")
		no = !index(" " $0 " ", " " m " ")
	}
	END { exit no }'
}

# wait_listening TRANSPORT [PROTO]: wait up to 5 s for the server started
# as $pid to log its "listening TRANSPORT 127.0.0.1:PORT PROTO" line (any
# protocol if none is named); sets port.
wait_listening()
{
	re="s/.*listening $1 127\.0\.0\.1:\([0-9]*\)${2:+ $2}.*/\1/p"
	i=0
	while [ $i -lt 50 ]; do
		port=$(sed -n "$re" "$tmp/server.log" | head -1)
		if [ -n "$port" ]; then
			# A worker may still fail after the bind: give it time.
			sleep 0.3
			alive "$pid" && return 0
			break
		fi
		alive "$pid" || break
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# start NAME TRANSPORT WORKERS PIN [stampd options]: sets pid and port.
start()
{
	name=$1
	tr=$2
	w=$3
	pin=$4
	shift 4
	port=
	case $name in
	nginx)
		start_nginx "$tr" "$w" "$pin"
		return
		;;
	ref|ref-m|ref-md)
		set -- "$REF" -t "$w"
		[ "$name" = ref-m ] && set -- "$@" -m
		[ "$name" = ref-md ] && set -- "$@" -m -d
		[ "$tr" = udp ] && set -- "$@" -u
		;;
	event-rp)
		set -- "$STAMPD" -m event --reuseport -w "$w" \
		    -l "$tr:127.0.0.1:0/stamp" "$@"
		;;
	*)
		set -- "$STAMPD" -m "$name" \
		    $(takes "$name" --workers && echo "-w $w") \
		    -l "$tr:127.0.0.1:0/stamp" "$@"
		;;
	esac
	: >"$tmp/server.log"
	$pin setsid "$@" >/dev/null 2>"$tmp/server.log" &
	pid=$!
	wait_listening "$tr" && return 0
	note "$name: did not start:" \
	    "$(grep -v ' listening ' "$tmp/server.log" | head -1)"
	stop
	return 1
}

# load STAMPBENCH-OPTIONS...: one run against the server on $port; sets
# the r_* figures (r_ok empty if it gave no RESULT).
load()
{
	r_ok=
	res=$(timeout --foreground -k 5 "$tmo" $cpin "${sb:-$STAMPBENCH}" \
	    -q "$@" 127.0.0.1 "$port" 2>>"$tmp/stampbench.err" |
	    sed -n 's/^RESULT //p')
	for kv in $res; do
		case $kv in
		[a-z]*=[0-9]*)
			eval "r_$kv"
			;;
		esac
	done
	[ -n "$r_ok" ] || note "$name: stampbench $*: no result" \
	    "($(tail -1 "$tmp/stampbench.err" 2>/dev/null))"
}

# record SECTION CONC THREADS SERVER_US: the last run, into results.dat.
record()
{
	printf "$fmt" "$1" "$name" "$2" "$round" "$r_rate" "$r_ok" \
	    "$r_errors" "$r_bad" "$r_p50_us" "$r_p99_us" "$r_p999_us" \
	    "$r_max_us" "$r_cpu_us" "$4" "$r_secs" "$3" >>"$raw"
}

# measure SECTION CONC THREADS [options]: a run of $secs seconds, its
# figures and the server's CPU per reply into results.dat.
measure()
{
	m_sect=$1
	m_c=$2
	m_t=$3
	shift 3
	if ! alive "$pid"; then
		note "$name died before $m_sect c=$m_c (round $round)"
		return 1
	fi
	t0=$(ticks "$pid")
	load -d "$secs" -c "$m_c" -t "$m_t" "$@"
	t1=$(ticks "$pid")
	[ -n "$r_ok" ] || return 1
	su=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$r_ok" 'BEGIN {
		if (n > 0) printf "%.2f", (b - a) * 1e6 / hz / n; else print "-"
	}')
	record "$m_sect" "$m_c" "$m_t" "$su"
	log "round $round/$rounds $m_sect $name c=$m_c t=$m_t:" \
	    "$r_rate/s p99 ${r_p99_us}us errors $r_errors," \
	    "server ${su}us/reply"
}

# The sections of one round, for the server $name.  nginx replies with
# "$msec\r\n", which stampbench reads with -P msec.
section_tcp()
{
	cpin=
	start "$name" tcp 2 "" || return
	load -d 0.3 -c 16 -t 2 $pa >/dev/null
	for c in 1 16 256 1024; do
		measure tcp $c 2 $pa
	done
	if [ "$name" = event ]; then
		measure client 16 1
		measure client 256 1
		if [ -n "$old_sb" ]; then
			sb=$old_sb
			measure client-old 16 1
			measure client-old 256 1
			sb=
		fi
	fi
	stop
}

section_cost()
{
	cpin="taskset -c 1"
	start "$name" tcp 1 "taskset -c 0" || return
	load -d 0.3 -c 16 -t 1 $pa >/dev/null
	measure cost 16 1 $pa
	if [ "$name" = event ] && [ -n "$old_sb" ]; then
		sb=$old_sb
		measure cost-old 16 1
		sb=
	fi
	stop
}

section_udp()
{
	case $name in ref-m | ref-md) return ;; esac
	cpin=
	start "$name" udp 2 "" || return
	load -u -n 40 -c 8 -T 300 $pa
	if [ "${r_ok:-0}" -eq 0 ]; then
		note "$name: no UDP replies (stampbench -u -c 8 -n 40" \
		    "-T 300: ok ${r_ok:-0}): left out of UDP"
		stop
		return
	fi
	for c in 16 256; do
		measure udp $c 2 -u $pa
	done
	stop
	cpin="taskset -c 1"
	start "$name" udp 1 "taskset -c 0" || return
	load -u -d 0.3 -c 16 -t 1 $pa >/dev/null
	measure ucost 16 1 -u $pa
	stop
}

# --delay 100, 200 clients at once, once per model: not a noisy figure.
section_delay()
{
	round=1
	cpin=
	tmo=120
	for name in $models; do
		case " $servers " in
		*" $name "*)
			;;
		*)
			continue
			;;
		esac
		start "$name" tcp 8 "" -D 100 \
		    $(takes "$name" --max-workers && echo --max-workers 8) ||
		    continue
		load -c 200 -n 200 -t 2 -T 60000
		if [ -n "$r_ok" ]; then
			record delay 200 2 -
			log "delay $name: 200 clients in ${r_secs}s," \
			    "max ${r_max_us}us"
		fi
		stop
	done
}

# --- silent +proxy peers beside a plain listener -----------------------

# silent_start PORT: hold $silent_n connections to 127.0.0.1:PORT that
# send nothing, from a process of their own ($spid); 0 once each has been
# made (the server may close the ones it sheds: they are not made again).
silent_start()
{
	cat >"$tmp/silent.py" <<-'EOF'
	import resource, socket, sys, time
	port, n = int(sys.argv[1]), int(sys.argv[2])
	soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
	want = n + 64 if hard == resource.RLIM_INFINITY else min(n + 64, hard)
	resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
	held = []
	for i in range(n):
	    s = socket.socket()
	    s.settimeout(5)
	    try:
	        s.connect(("127.0.0.1", port))
	    except OSError as e:
	        print("silent: connect %d: %s" % (i, e), flush=True)
	        break
	    held.append(s)
	print("silent %d" % len(held), flush=True)
	while True:
	    time.sleep(3600)
	EOF
	: >"$tmp/silent.log"
	python3 -u "$tmp/silent.py" "$1" "$silent_n" >"$tmp/silent.log" \
	    2>&1 </dev/null &
	spid=$!
	i=0
	while alive "$spid" && ! grep -q '^silent ' "$tmp/silent.log" &&
	    [ $i -lt 600 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	made=$(sed -n 's/^silent \([0-9]*\)$/\1/p' "$tmp/silent.log")
	[ "${made:-0}" = "$silent_n" ] && return 0
	note "$name: $silent_n silent peers: $(head -1 "$tmp/silent.log")"
	return 1
}

# A model's replies/s on its plain listener, without silent peers beside
# it and then with them, the same daemon; a round each.
section_silent()
{
	cpin=
	start "$name" tcp 2 "" -l tcp:127.0.0.1:0/stamp+proxy || return
	re='s/.*listening tcp 127\.0\.0\.1:\([0-9]*\) stamp+proxy.*/\1/p'
	pport=$(sed -n "$re" "$tmp/server.log" | head -1)
	load -d 0.3 -c 16 -t 2 >/dev/null
	measure quiet 16 2 && q=$r_rate || q=
	if silent_start "$pport" && measure silent 16 2 && [ -n "$q" ]; then
		log "proxy-silent $name: $(awk -v a="$r_rate" -v b="$q" \
		    'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }') of its" \
		    "replies/s with $silent_n silent peers"
	fi
	[ -n "$spid" ] && stop_side
	stop
}

# Every model stampd lists (and BENCH_SERVERS keeps), once a round.
silent_round()
{
	tmo=$((secs + 30))
	for name in $models; do
		case " $servers " in
		*" $name "*)
			section_silent
			;;
		esac
	done
}

# --- NTP: stampd's models beside chronyd ------------------------------


# answers: whether the NTP server on $port answers stampbench within 5 s.
answers()
{
	i=0
	while [ $i -lt 10 ]; do
		alive "$pid" || return 1
		"$STAMPBENCH" -q -P ntp -n 4 -c 1 -T 500 127.0.0.1 "$port" \
		    >/dev/null 2>&1 && return 0
		i=$((i + 1))
	done
	return 1
}

# start_chronyd PIN: chronyd serving NTP as the bench's stampd does, from
# a configuration of the bench's own (stratum 8 as if it had a reference,
# loopback only, no command port or socket, no drift file, -x: the clock
# is left alone), on a port tried at random until one is free, as nginx's
# (chronyd cannot be told to take port 0 and say which it got); sets pid
# and port.  With a second argument, nts: NTS-KE too, on a port of its own
# also at random (then port is the NTS-KE one, keport the NTP one), with
# the bench's certificate and $nts_procs helper processes (ntsprocesses),
# and all of 127/8 allowed: with "allow 127.0.0.1" chronyd 4.3 completed
# the first key establishment of a run and cut the TLS of every later one
# (GnuTLS: "non-properly terminated").
start_chronyd()
{
	for try in 1 2 3 4 5 6 7 8 9 10; do
		port=$(random_port)
		keport=$(random_port)
		[ "$keport" = "$port" ] && continue
		allow=127.0.0.1
		[ "${2:-}" = nts ] && allow=127.0.0.0/8
		cat >"$ntpdir/server.conf" <<-CONF
		# chronyd for bench/run.sh, written by it at each start.
		local stratum 8
		allow $allow
		bindaddress 127.0.0.1
		port $port
		pidfile $ntpdir/server.pid
		cmdport 0
		bindcmdaddress /
		CONF
		[ "${2:-}" = nts ] && cat >>"$ntpdir/server.conf" <<-CONF
		ntsserverkey $ntsdir/server.key
		ntsservercert $ntsdir/server.pem
		ntsport $keport
		ntsprocesses $nts_procs
		CONF
		rm -f "$ntpdir/server.pid"
		: >"$tmp/server.log"
		$1 setsid chronyd -d -x $chrony_user -f "$ntpdir/server.conf" \
		    >/dev/null 2>"$tmp/server.log" &
		pid=$!
		i=0
		while alive "$pid" && [ ! -s "$ntpdir/server.pid" ] &&
		    [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		if alive "$pid" && [ -s "$ntpdir/server.pid" ]; then
			[ "$(cat "$ntpdir/server.pid")" = "$pid" ] ||
			    die "chronyd: its pid file does not say $pid"
			if answers; then
				[ "${2:-}" = nts ] || return 0
				t=$port
				port=$keport
				keport=$t
				return 0
			fi
		fi
		if ! grep -q 'Could not open' "$tmp/server.log"
		then
			note "chronyd: did not start or answer:" \
			    "$(tail -1 "$tmp/server.log")"
			stop
			return 1
		fi
		stop
	done
	note "chronyd: no free port in 10 tries"
	return 1
}

# start_ntp NAME WORKERS PIN [nts]: stampd's model NAME serving NTP as
# stratum 8 with WORKERS workers, or chronyd (one thread); sets pid and
# port.  With nts, NTS-KE too, with the bench's certificate: then port is
# the NTS-KE one, which names the NTP one to clients.
start_ntp()
{
	name=$1
	port=
	if [ "$name" = chronyd ]; then
		start_chronyd "$3" "${4:-}"
		return
	fi
	set -- "$@" ""
	: >"$tmp/server.log"
	if [ "$4" = nts ]; then
		$3 setsid "$STAMPD" -m "$name" -w "$2" --local-stratum 8 \
		    -l tcp:127.0.0.1:0/nts-ke --tls-cert "$ntsdir/server.pem" \
		    --tls-key "$ntsdir/server.key" -l udp:127.0.0.1:0/ntp \
		    >/dev/null 2>"$tmp/server.log" &
		pid=$!
		wait_listening tcp nts-ke && return 0
	else
		$3 setsid "$STAMPD" -m "$name" -w "$2" --local-stratum 8 \
		    -l udp:127.0.0.1:0/ntp >/dev/null 2>"$tmp/server.log" &
		pid=$!
		wait_listening udp ntp && return 0
	fi
	note "$name: did not start for NTP${4:+ and NTS}:" \
	    "$(grep -v ' listening ' "$tmp/server.log" | head -1)"
	stop
	return 1
}

# offsets: a chrony client of the server on $port (chronyd -x, a
# configuration of its own, asking 64 times a second) until it has
# logged $ntp_samples measurements; each offset and delay into
# results.dat as a "# ntpoff: SERVER ROUND OFFSET DELAY" line (seconds).
offsets()
{
	cdir=$ntpdir/client
	rm -rf "$cdir" && mkdir -p "$cdir" || die "mkdir $cdir"
	cat >"$ntpdir/client.conf" <<-CONF
	# chronyd as a client, for bench/run.sh, written by it at each start.
	server 127.0.0.1 port $port minpoll -6 maxpoll -6
	port 0
	pidfile $ntpdir/client.pid
	cmdport 0
	bindcmdaddress /
	logdir $cdir
	log measurements
	CONF
	# Its own deadline too (-t), should this script be killed.
	$cpin setsid chronyd -d -x $chrony_user -t 60 \
	    -f "$ntpdir/client.conf" >/dev/null 2>"$tmp/client.log" &
	spid=$!
	got=0
	i=0
	while alive "$spid" && [ "$got" -lt "$ntp_samples" ] &&
	    [ $i -lt 300 ]; do
		sleep 0.1
		got=$(awk '$3 == "127.0.0.1" && NF >= 13' \
		    "$cdir/measurements.log" 2>/dev/null | wc -l)
		i=$((i + 1))
	done
	stop_side
	if [ "$got" -lt "$ntp_samples" ]; then
		note "$name: the chrony client logged $got of $ntp_samples" \
		    "measurements (round $round):" \
		    "$(tail -1 "$tmp/client.log")"
		return 1
	fi
	# Columns 12 and 13 of measurements.log: offset and peer delay.
	awk -v s="$name" -v r="$round" -v n="$ntp_samples" '
	$3 == "127.0.0.1" && NF >= 13 && k++ < n {
		print "# ntpoff:", s, r, $12, $13
	}' "$cdir/measurements.log" >>"$raw"
	span=$(awk -v n="$ntp_samples" '
	$3 == "127.0.0.1" && NF >= 13 && k++ < n {
		x = $12 < 0 ? -$12 : $12
		if (k == 1 || x < lo)
			lo = x
		if (x > hi)
			hi = x
	}
	END { printf "%.1f to %.1f us", lo * 1e6, hi * 1e6 }' \
	    "$cdir/measurements.log")
	log "round $round/$rounds ntp accuracy $name: $ntp_samples" \
	    "offsets, |offset| $span"
}

# One round of the ntp section for the server $name: pinned (CPU 0, one
# worker; stampbench -t 1 and the chrony client on CPU 1) at c=16 and
# 256 and the chrony client's offsets, then unpinned (2 workers,
# stampbench -t 2) at c=16 and 256.
section_ntp()
{
	cpin="taskset -c 1"
	start_ntp "$name" 1 "taskset -c 0" || return
	load -P ntp -d 0.3 -c 16 -t 1 >/dev/null
	measure ntpcost 16 1 -P ntp
	measure ntpcost 256 1 -P ntp
	offsets
	stop
	cpin=
	start_ntp "$name" 2 "" || return
	load -P ntp -d 0.3 -c 16 -t 2 >/dev/null
	measure ntp 16 2 -P ntp
	measure ntp 256 2 -P ntp
	stop
}

# ntp_servers SECTION SERVERS...: those of SERVERS that are a model or
# chronyd, the others noted; chronyd installed and its user and version
# settled (once) if it is among them.
ntp_servers()
{
	ns_sect=$1
	shift
	ns=
	for s in "$@"; do
		case " $models chronyd " in
		*" $s "*)
			ns="$ns $s"
			;;
		*)
			note "$ns_sect: $s is neither a model nor chronyd:" \
			    "left out"
			;;
		esac
	done
	ntpdir=$out/ntp
	mkdir -p "$ntpdir" || die "mkdir $ntpdir"
	case " $ns " in
	*" chronyd "*)
		[ -z "${chrony_version:-}" ] || return 0
		command -v chronyd >/dev/null || install chrony
		# As root chronyd would drop to _chrony, which cannot write
		# here.
		chrony_user="-u root"
		[ "$(id -u)" = 0 ] || chrony_user="-U -u $(id -un)"
		chrony_version=$(chronyd -v 2>/dev/null |
		    sed -n 's/.*version \([^ ]*\).*/\1/p')
		echo "# chronyd: $chrony_version" >>"$raw"
		;;
	esac
}

# prepared SECTION SERVERS SECS SETTING...: how SECTION runs, into
# results.dat: its SERVERS, and each SETTING ("KEY: VALUE"), as lines
# "# SECTION-servers: SERVERS" and "# SECTION-KEY: VALUE"; then the log
# says its servers and about how many minutes its rounds take, at SECS
# seconds a server and round.
prepared()
{
	pr_sect=$1
	pr_servers=$2
	pr_secs=$3
	shift 3
	echo "# $pr_sect-servers: $pr_servers" >>"$raw"
	for pr_set; do
		echo "# $pr_sect-$pr_set" >>"$raw"
	done
	log "$pr_sect: $pr_servers; about" \
	    "$(((rounds * $(words $pr_servers) * pr_secs + 59) / 60))" \
	    "minutes more"
}

# What the ntp section needs, checked once before the rounds, and how it
# runs, into results.dat.
ntp_prepare()
{
	ntp_servers ntp ${BENCH_NTP_SERVERS:-event uring chronyd}
	ntp_servers=${ns# }
	[ "$ntp_samples" -ge 32 ] ||
	    die "BENCH_NTP_SAMPLES=$ntp_samples: 32 at least"
	prepared ntp "$ntp_servers" $((4 * secs + 5)) \
	    "samples: $ntp_samples"
}

ntp_round()
{
	for name in $ntp_servers; do
		pa=
		section_ntp
	done
}

# --- NTS: stampd's models beside chronyd, authenticated ---------------

# What the nts section needs, checked once before the rounds: a stampd
# and a stampbench built with NTS, a CA of the run's own and a server
# certificate it signed for 127.0.0.1 (the one every server serves), and
# how it runs, into results.dat.
nts_prepare()
{
	"$STAMPD" --help 2>&1 | grep -q -- --tls-cert &&
	    "$STAMPBENCH" --help 2>&1 | grep -q nts-ke ||
	    die "nts: stampd and stampbench were built without NTS (GnuTLS)"
	ntp_servers nts ${BENCH_NTS_SERVERS:-event uring chronyd}
	nts_servers=${ns# }
	case $nts_procs in
	'' | *[!0-9]*)
		die "BENCH_NTS_PROCESSES=$nts_procs: a number"
		;;
	esac
	command -v certtool >/dev/null || install gnutls-bin
	ntsdir=$out/nts
	mkdir -p "$ntsdir" || die "mkdir $ntsdir"
	# The tests' recipe (tests/lib.sh), in a subshell: nothing else of
	# the tests' library comes into this script.
	(. "$root/tests/lib.sh" && lib_nts_cert "$ntsdir" "stampd bench CA") ||
	    die "nts: certtool could not make the certificates" \
	    "($ntsdir/certtool.out says why)"
	prepared nts "$nts_servers" $((3 * secs + 4)) \
	    "processes: $nts_procs"
}

# One round of the nts section for the server $name, pinned as the cost
# section (the server on CPU 0 with one worker, or chronyd with its
# $nts_procs NTS-KE helpers; stampbench -t 1 on CPU 1): key
# establishments at c=16, then authenticated NTP at c=16 and 256.  The
# server's CPU counts every process of its group (chronyd's helpers).
section_nts()
{
	cpin="taskset -c 1"
	start_ntp "$name" 1 "taskset -c 0" nts || return
	set -- --ca "$ntsdir/ca.pem"
	load -P nts-ke "$@" -d 0.3 -c 16 -t 1 >/dev/null
	measure ntske 16 1 -P nts-ke "$@"
	load -P nts "$@" -d 0.3 -c 16 -t 1 >/dev/null
	measure nts 16 1 -P nts "$@"
	measure nts 256 1 -P nts "$@"
	stop
}

nts_round()
{
	for name in $nts_servers; do
		pa=
		section_nts
	done
}

# The pids of process group $1, one a line: a pool's workers, nginx's.
group_pids()
{
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v g="$1" '
	{
		p = $1
		sub(/^.*\) /, "")
		if ($3 == g)
			print p
	}'
}

# count_syscalls TRANSPORT STAMPBENCH-OPTIONS...: strace every process of
# the server's group (-f: their threads and later children too) while
# stampbench makes $sys_n exchanges, then detach; into results.dat.
# Attached after the warm-up and detached before the stop, so that only
# the load is counted (and the idle waits that come with it).
count_syscalls()
{
	c_tr=$1
	shift
	set -- "$@" -n "$sys_n" -c 16 -t 1
	sargs=
	np=0
	for p in $(group_pids "$pid"); do
		sargs="$sargs -p $p"
		np=$((np + 1))
	done
	: >"$tmp/strace.err"
	strace -f -c -S calls -o "$tmp/strace.out" $sargs \
	    2>"$tmp/strace.err" &
	spid=$!
	i=0
	while [ "$(grep -c 'attached' "$tmp/strace.err")" -lt "$np" ] &&
	    alive "$spid" && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$(grep -c 'attached' "$tmp/strace.err")" -lt "$np" ]; then
		note "$name: strace did not attach:" \
		    "$(grep -v attached "$tmp/strace.err" | head -1)"
		kill -KILL "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		spid=
		return 1
	fi
	load "$@"
	# TERM: strace detaches, writes its table and exits.  (Not INT: a
	# command put in the background by a script starts with INT ignored.)
	stop_side
	[ -n "$r_ok" ] || return 1
	n=$((r_ok + r_bad + r_errors))
	# The table's rows sit between two lines of dashes; the errors
	# column may be empty, so calls is the 4th field, the name the last.
	line=$(awk -v n="$n" '
	/^-----/ { part++; next }
	part == 1 && NF >= 5 {
		all += $4
		if (k < 3)
			top = top sprintf("%s%s %.2f", k++ ? ", " : "", $NF,
			    $4 / n)
	}
	END {
		if (n > 0 && all > 0)
			printf "%.2f %s\n", all / n, top
	}' "$tmp/strace.out")
	if [ -z "$line" ]; then
		note "$name: strace counted nothing over $c_tr"
		return 1
	fi
	echo "# sys: $c_tr $name $n $line" >>"$raw"
	log "syscalls $name $c_tr: $line (per exchange, $n exchanges)"
}

# System calls per connection and per datagram, once per server, 1 worker
# and concurrency 16, as the cost section; unpinned, strace has a CPU.
section_syscalls()
{
	round=1
	cpin=
	tmo=120
	for name in $servers; do
		pa=
		[ "$name" = nginx ] && pa="-P msec"
		start "$name" tcp 1 "" || continue
		load -d 0.3 -c 16 -t 1 $pa >/dev/null
		count_syscalls tcp $pa
		stop
		case $name in ref-m | ref-md) continue ;; esac
		start "$name" udp 1 "" || continue
		load -u -d 0.3 -c 16 -t 1 $pa >/dev/null
		[ "${r_ok:-0}" -gt 0 ] && count_syscalls udp -u $pa
		stop
	done
}

# The stampbench of $old_rev, built once under $out/old/REV from git's
# copy of that commit, for the client table to compare ours with; none
# (and a note) if that cannot be done.
old_stampbench()
{
	[ -z "$old_sb" ] || return 0
	[ "$old_rev" != none ] || return 0
	if ! command -v git >/dev/null ||
	    ! h=$(git -C "$root" rev-parse -q --verify \
	    "$old_rev^{commit}" 2>/dev/null); then
		note "no stampbench to compare with: $old_rev is no commit" \
		    "here (BENCH_OLD_STAMPBENCH names one)"
		return 0
	fi
	d=$out/old/$h
	if [ ! -x "$d/build/stampbench" ]; then
		log "building the stampbench of $old_rev in $d"
		rm -rf "$d" && mkdir -p "$d" &&
		    git -C "$root" archive "$h" Makefile src | tar -x -C "$d" &&
		    env -u MAKEFLAGS -u MAKELEVEL make -s -C "$d" O=build \
		    build/stampbench >&2 || {
			note "the stampbench of $old_rev did not build"
			return 0
		}
	fi
	old_sb=$d/build/stampbench
}

has()
{
	case " $sections " in
	*" $1 "*)
		return 0
		;;
	esac
	return 1
}

# Whether a section of the stampd-nginx-ref comparison is asked for (not
# only ntp or nts, which have their own servers, tables and blocks).
main_sections()
{
	for ms in tcp cost udp syscalls delay; do
		has $ms && return 0
	done
	return 1
}

# Start, load and stop every server, round after round, into results.dat.
measure_all()
{
	# The references, nginx, then every model stampd lists.
	models=$("$STAMPD" --help | awk '
		/--model/ { on = 1; next }
		/^  -/ { on = 0 }
		on && NF > 1 { printf "%s ", $1 }')
	[ -n "$models" ] || die "$STAMPD --help lists no model"
	all="ref ref-m ref-md nginx"
	for m in $models; do
		all="$all $m"
		[ "$m" = event ] && all="$all event-rp"
	done
	servers=${BENCH_SERVERS:-$all}

	for f in "$STAMPD" "$STAMPBENCH" "$REF"; do
		[ -x "$f" ] || die "$f: not built (make bench builds it)"
	done
	has tcp || has cost && old_stampbench
	if [ -n "$old_sb" ]; then
		old_desc="the stampbench of commit $old_rev"
		[ -n "${BENCH_OLD_STAMPBENCH:-}" ] && old_desc=$old_sb
	fi
	[ -z "$old_sb" ] || [ -x "$old_sb" ] ||
	    die "BENCH_OLD_STAMPBENCH=$old_sb: not an executable"
	for c in taskset setsid timeout od nproc getconf awk; do
		command -v $c >/dev/null ||
		    die "$c not found (util-linux, coreutils, libc-bin, mawk)"
	done
	case " $servers " in
	*" nginx "*)
		# Debian builds the stream module as a package of its own.
		if ! main_sections; then
			:
		elif ! command -v nginx >/dev/null; then
			install nginx libnginx-mod-stream
		elif [ ! -f "$module" ] &&
		    ! nginx -V 2>&1 | grep -q -- '--with-stream '; then
			install libnginx-mod-stream
		fi
		;;
	esac
	if main_sections && ! command -v gnuplot >/dev/null; then
		install gnuplot-nox
	fi
	if has syscalls && ! command -v strace >/dev/null; then
		install strace
	fi
	if has proxy-silent && ! command -v python3 >/dev/null; then
		install python3
	fi
	[ "$(nproc)" -ge 2 ] || log "one CPU only: the pinned runs share it"

	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	machine="$(nproc) CPUs, $cpu, Linux $(uname -r),"
	machine="$machine $(date -u '+%Y-%m-%d %H:%M UTC')"
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	nginx_version=$(nginx -v 2>&1 | sed -n 's/.*nginx\///p')
	# The first line names the columns; the comments say how it ran.
	{
		echo "# section server conc round rate ok errors bad p50_us" \
		    "p99_us p999_us max_us client_us server_us secs threads"
		echo "# machine: $machine"
		echo "# load-before: $load0"
		echo "# rounds: $rounds"
		echo "# secs: $secs"
		echo "# sections: $sections"
		echo "# servers: $servers"
		echo "# models: $models"
		echo "# nginx: $nginx_version"
		[ -n "$old_sb" ] && echo "# old-stampbench: $old_desc"
		has proxy-silent && echo "# silent: $silent_n"
	} >"$raw"
	has ntp && ntp_prepare
	has nts && nts_prepare

	n=$(words $servers)
	log "$machine; load $load0"
	awk -v l="$load0" 'BEGIN { exit !(l + 0 >= 1) }' &&
	    log "the machine is busy (load $load0): expect noisy figures"
	main_sections && log "servers: $servers; $rounds rounds of $secs s;" \
	    "about $(((rounds * n * (8 * secs + 1) + 6 * n + 59) / 60))" \
	    "minutes"
	began=$(date +%s)
	tmo=$((secs + 30))
	round=1
	while [ $round -le "$rounds" ]; do
		for sect in tcp cost udp; do
			has $sect || continue
			for name in $servers; do
				pa=
				[ "$name" = nginx ] && pa="-P msec"
				section_$sect
			done
		done
		has proxy-silent && silent_round
		has ntp && ntp_round
		has nts && nts_round
		round=$((round + 1))
	done
	has syscalls && section_syscalls
	has delay && section_delay
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	took=$(($(date +%s) - began))
	echo "# load-after: $load1" >>"$raw"
	echo "# took: $took" >>"$raw"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/stampd-bench.XXXXXX") || die "mktemp"
mkdir -p "$out" "$img" || die "mkdir $out $img"

if [ "${BENCH_REPORT:-0}" = 1 ]; then
	[ -s "$raw" ] || die "$raw: nothing to report: run the bench first"
	meta()
	{
		sed -n "s/^# $1: //p" "$raw" | head -1
	}
	machine=$(meta machine)
	load0=$(meta load-before)
	load1=$(meta load-after)
	rounds=$(meta rounds)
	secs=$(meta secs)
	sections=$(meta sections)
	servers=$(meta servers)
	models=$(meta models)
	nginx_version=$(meta nginx)
	took=$(meta took)
	old_desc=$(meta old-stampbench)
	ntp_servers=$(meta ntp-servers)
	ntp_samples=$(meta ntp-samples)
	nts_servers=$(meta nts-servers)
	nts_procs=$(meta nts-processes)
	chrony_version=$(meta chronyd)
	silent_n=$(meta silent)
else
	measure_all
fi

# --- the tables --------------------------------------------------------

# med SECTION SERVER CONC COLUMN [min|max]: the median over the rounds
# (or the least, or the greatest), or "-".
med()
{
	awk -v s="$1" -v v="$2" -v c="$3" -v k="$4" -v w="${5:-}" '
	NR == 1 {
		for (i = 2; i <= NF; i++)
			col[$i] = i - 1
		next
	}
	/^#/ { next }
	$1 == s && $2 == v && $3 == c && $(col[k]) != "-" {
		x[n++] = $(col[k]) + 0
	}
	END {
		if (n == 0) {
			print "-"
			exit
		}
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && x[j - 1] > x[j]; j--) {
				t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
			}
		m = n % 2 ? x[int(n / 2)] : (x[n / 2 - 1] + x[n / 2]) / 2
		if (w == "min")
			m = x[0]
		if (w == "max")
			m = x[n - 1]
		if (m >= 100 || m == int(m))
			printf "%.0f\n", m
		else
			printf "%.3g\n", m
	}' "$raw"
}

# tot SECTION SERVER CONC COLUMN: the sum over the rounds, or "-".
tot()
{
	awk -v s="$1" -v v="$2" -v c="$3" -v k="$4" '
	NR == 1 {
		for (i = 2; i <= NF; i++)
			col[$i] = i - 1
		next
	}
	/^#/ { next }
	$1 == s && $2 == v && $3 == c { t += $(col[k]); n++ }
	END { print n ? t : "-" }' "$raw"
}

# ratio A B: A/B to two decimals, or "-".
ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b + 0 == 0) print "-"
		else printf "%.2f\n", a / b
	}'
}

# best SECTION CONC COLUMN [max]: the lesser (or greater) median of ref
# and ref-m.
best()
{
	a=$(med "$1" ref "$2" "$3")
	b=$(med "$1" ref-m "$2" "$3")
	awk -v a="$a" -v b="$b" -v hi="${4:-}" 'BEGIN {
		if (a == "-") print b
		else if (b == "-") print a
		else if (hi != "") print (a + 0 > b + 0 ? a : b)
		else print (a + 0 < b + 0 ? a : b)
	}'
}

# verdict RATIO OP LIMIT: met or not.
verdict()
{
	awk -v x="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (x == "-") { print "not measured"; exit }
		ok = op == ">=" ? x + 0 >= l : x + 0 <= l
		print ok ? "met" : "**not met**"
	}'
}

# row CELL...: one line of a markdown table.
row()
{
	printf '|'
	for cell in "$@"; do
		printf ' %s |' "$cell"
	done
	echo
}

# vs VALUE BASE: the value and, in brackets, its ratio to base.
vs()
{
	x=$(ratio "$1" "$2")
	if [ "$x" = - ]; then
		echo "$1"
	else
		echo "$1 ($x)"
	fi
}

# target TEXT RATIO OP LIMIT: a line of the targets table.
target()
{
	row "$1" "$2x" "$(verdict "$2" "$3" "$4")"
}

# ms MICROSECONDS: in milliseconds.
ms()
{
	awk -v a="$1" 'BEGIN {
		if (a == "-") print "-"; else printf "%.0f\n", a / 1000
	}'
}

report_targets()
{
	echo "### Targets"
	echo
	row target measured verdict
	row --- --- ---
	for c in 16 256; do
		v=$(med tcp event $c rate)
		target "throughput c=$c: event >= 1.0x nginx" \
		    "$(ratio "$v" "$(med tcp nginx $c rate)")" '>=' 1.0
		target "throughput c=$c: event >= 0.95x best ref" \
		    "$(ratio "$v" "$(best tcp $c rate max)")" '>=' 0.95
	done
	if has cost; then
		v=$(med cost event 16 server_us)
		target "cost: event <= 0.7x nginx" \
		    "$(ratio "$v" "$(med cost nginx 16 server_us)")" '<=' 0.7
		target "cost: event within 10% of best ref" \
		    "$(ratio "$v" "$(best cost 16 server_us)")" '<=' 1.10
	fi
	e=$(tot tcp event 1024 errors)
	v=met
	[ "$e" = 0 ] || v="**not met**"
	row "c=1024: event errors = 0 (all rounds)" "$e" "$v"
	target "c=1024: event p99.9 <= 0.8x nginx" \
	    "$(ratio "$(med tcp event 1024 p999_us)" \
	    "$(med tcp nginx 1024 p999_us)")" '<=' 0.8
	if has udp; then
		for c in 16 256; do
			target "UDP c=$c: event >= 1.0x ref (aim 1.5x)" \
			    "$(ratio "$(med udp event $c rate)" \
			    "$(med udp ref $c rate)")" '>=' 1.0
		done
	fi
	echo
}

report_tcp()
{
	cat <<-EOF
	### TCP connections per second

	stampbench -t 2, 2 workers each (stampd -w 2 where the model takes
	-w, nginx worker_processes 2, refserver -t 2), unpinned.  In brackets:
	the ratio to nginx.

	EOF
	row server c=1 c=16 c=256 c=1024
	row --- --: --: --: --:
	for s in $servers; do
		set -- "$s"
		for c in 1 16 256 1024; do
			base=$(med tcp nginx $c rate)
			[ "$s" = nginx ] && base=-
			set -- "$@" "$(vs "$(med tcp "$s" $c rate)" "$base")"
		done
		row "$@"
	done
	cat <<-EOF

	### TCP latency, p50 / p99, microseconds

	The same runs.

	EOF
	row server c=1 c=16 c=256
	row --- --: --: --:
	for s in $servers; do
		set -- "$s"
		for c in 1 16 256; do
			a=$(med tcp "$s" $c p50_us)
			b=$(med tcp "$s" $c p99_us)
			set -- "$@" "$a / $b"
		done
		row "$@"
	done
	cat <<-EOF

	### The tail: 1024 clients at once

	stampbench -c 1024 -t 2; backlog 4096 for all.  Errors and bad
	replies summed over all rounds; latencies in microseconds.

	EOF
	row server conn/s errors bad p50 p99 p99.9 max "p99.9 / nginx's"
	row --- --: --: --: --: --: --: --: --:
	np=$(med tcp nginx 1024 p999_us)
	for s in $servers; do
		v=$(med tcp "$s" 1024 p999_us)
		row "$s" "$(med tcp "$s" 1024 rate)" \
		    "$(tot tcp "$s" 1024 errors)" "$(tot tcp "$s" 1024 bad)" \
		    "$(med tcp "$s" 1024 p50_us)" \
		    "$(med tcp "$s" 1024 p99_us)" "$v" \
		    "$(med tcp "$s" 1024 max_us)" "$(ratio "$v" "$np")"
	done
	echo
}

report_cost()
{
	cat <<-EOF
	### Cost per connection

	The server pinned to CPU 0 with 1 worker (taskset -c 0), stampbench
	-t 1 -c 16 pinned to CPU 1.  The server's CPU is utime + stime +
	cutime + cstime of all its processes (/proc/PID/stat), divided by
	the replies; the client's is stampbench's own (its cpu_us).

	EOF
	row server "server us/conn" "/ nginx" "/ best ref" conn/s \
	    "stampbench us/conn"
	row --- --: --: --: --: --:
	nc=$(med cost nginx 16 server_us)
	bc=$(best cost 16 server_us)
	for s in $servers; do
		v=$(med cost "$s" 16 server_us)
		row "$s" "$v" "$(ratio "$v" "$nc")" "$(ratio "$v" "$bc")" \
		    "$(med cost "$s" 16 rate)" "$(med cost "$s" 16 client_us)"
	done
	echo
}

report_udp()
{
	cat <<-EOF
	### UDP datagrams

	Replies per second with stampbench -u -t 2 and 2 workers (ref is
	refserver -u: a blocking recvfrom/sendto loop per thread, one
	SO_REUSEPORT socket each), and the server's CPU per datagram, pinned
	as above (1 worker, c=16).  In brackets: the ratio to ref.  Errors
	(no reply within 5 s) are summed over the rounds of c=16 and 256.

	EOF
	row server c=16 c=256 "p99 us c=256" errors us/datagram "/ ref"
	row --- --: --: --: --: --: --:
	ur=$(med ucost ref 16 server_us)
	for s in $servers; do
		[ "$(med udp "$s" 16 rate)" = - ] && continue
		set -- "$s"
		for c in 16 256; do
			base=$(med udp ref $c rate)
			[ "$s" = ref ] && base=-
			set -- "$@" "$(vs "$(med udp "$s" $c rate)" "$base")"
		done
		v=$(med ucost "$s" 16 server_us)
		e=$(awk -v a="$(tot udp "$s" 16 errors)" \
		    -v b="$(tot udp "$s" 256 errors)" 'BEGIN { print a + b }')
		row "$@" "$(med udp "$s" 256 p99_us)" "$e" "$v" \
		    "$(ratio "$v" "$ur")"
	done
	echo
}

report_delay()
{
	cat <<-EOF
	### --delay 100, 200 clients at once

	stampd -D 100, and -w 8 --max-workers 8 as far as the model takes
	them; stampbench -c 200 -n 200 -t 2, once.  The time is until the last
	reply.

	EOF
	row model "time for all 200, s" "p50 ms" "max ms" ok errors
	row --- --: --: --: --: --:
	for s in $models; do
		v=$(med delay "$s" 200 secs)
		[ "$v" = - ] && continue
		row "$s" "$v" "$(ms "$(med delay "$s" 200 p50_us)")" \
		    "$(ms "$(med delay "$s" 200 max_us)")" \
		    "$(med delay "$s" 200 ok)" "$(med delay "$s" 200 errors)"
	done
	echo
}

# kept SERVER: the median over the rounds of its replies/s beside the
# silent peers over alone, each round's two runs back to back on one
# daemon (a pair the machine's load moves alike), or "-".
kept()
{
	awk -v v="$1" '
	NR == 1 {
		for (i = 2; i <= NF; i++)
			col[$i] = i - 1
		next
	}
	/^#/ { next }
	$2 == v && $3 == 16 && ($1 == "quiet" || $1 == "silent") {
		r[$1, $(col["round"])] = $(col["rate"]) + 0
		seen[$(col["round"])] = 1
	}
	END {
		for (k in seen)
			if ((("quiet", k) in r) && (("silent", k) in r) &&
			    r["quiet", k] > 0)
				x[n++] = r["silent", k] / r["quiet", k]
		if (n == 0) {
			print "-"
			exit
		}
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && x[j - 1] > x[j]; j--) {
				t = x[j]; x[j] = x[j - 1]; x[j - 1] = t
			}
		printf "%.2f\n", n % 2 ? x[int(n / 2)] : \
		    (x[n / 2 - 1] + x[n / 2]) / 2
	}' "$raw"
}

report_silent()
{
	cat <<-EOF
	### Silent +proxy peers beside a plain listener

	Each model with a plain listener and a +proxy one, 2 workers as far
	as it takes them; stampbench -c 16 -t 2 on the plain one, alone and
	then beside $silent_n connections to the +proxy one from 127.0.0.1
	that send nothing.  A model that waits for their headers with a
	bound per source sheds the oldest past it.  Kept: the median over
	the rounds of each round's replies/s beside them over alone (the two
	runs back to back on one daemon); the rates are medians too.

	EOF
	row model "alone conn/s" "beside $silent_n silent" kept \
	    "p99 us alone" "p99 us beside"
	row --- --: --: --: --: --:
	for s in $models; do
		a=$(med quiet "$s" 16 rate)
		[ "$a" = - ] && continue
		b=$(med silent "$s" 16 rate)
		row "$s" "$a" "$b" "$(kept "$s")" \
		    "$(med quiet "$s" 16 p99_us)" "$(med silent "$s" 16 p99_us)"
	done
	echo
}

report_client()
{
	cat <<-EOF
	### Is stampbench the weak link?

	Against the event model: stampbench's own CPU per connection (its
	cpu_us), unpinned against 2 workers with 1 and 2 threads, and pinned
	as in the cost table (the server on CPU 0 with 1 worker, stampbench
	-t 1 -c 16 on CPU 1).
	EOF
	if [ -n "$old_desc" ]; then
		cat <<-EOF
		"before" is $old_desc, run in the same rounds; the last
		line is today's figure over its.
		EOF
	fi
	echo
	row stampbench "c=16 conn/s" "c=16 us/conn" "c=256 conn/s" \
	    "c=256 us/conn" "pinned conn/s" "pinned us/conn"
	row --- --: --: --: --: --: --:
	if [ -n "$old_desc" ]; then
		row "before, -t 1" "$(med client-old event 16 rate)" \
		    "$(med client-old event 16 client_us)" \
		    "$(med client-old event 256 rate)" \
		    "$(med client-old event 256 client_us)" \
		    "$(med cost-old event 16 rate)" \
		    "$(med cost-old event 16 client_us)"
	fi
	for t in 1 2; do
		sect=client
		[ $t = 2 ] && sect=tcp
		a=-
		b=-
		if [ $t = 1 ]; then
			a=$(med cost event 16 rate)
			b=$(med cost event 16 client_us)
		fi
		row "-t $t" "$(med $sect event 16 rate)" \
		    "$(med $sect event 16 client_us)" \
		    "$(med $sect event 256 rate)" \
		    "$(med $sect event 256 client_us)" "$a" "$b"
	done
	if [ -n "$old_desc" ]; then
		row "-t 1 / before" \
		    "$(ratio "$(med client event 16 rate)" \
		    "$(med client-old event 16 rate)")" \
		    "$(ratio "$(med client event 16 client_us)" \
		    "$(med client-old event 16 client_us)")" \
		    "$(ratio "$(med client event 256 rate)" \
		    "$(med client-old event 256 rate)")" \
		    "$(ratio "$(med client event 256 client_us)" \
		    "$(med client-old event 256 client_us)")" \
		    "$(ratio "$(med cost event 16 rate)" \
		    "$(med cost-old event 16 rate)")" \
		    "$(ratio "$(med cost event 16 client_us)" \
		    "$(med cost-old event 16 client_us)")"
	fi
	echo
}

# sys TRANSPORT SERVER: "per-exchange top-3" from results.dat, or "-".
sys()
{
	awk -v t="$1" -v v="$2" '
	$1 == "#" && $2 == "sys:" && $3 == t && $4 == v {
		l = $6
		for (i = 7; i <= NF; i++)
			l = l " " $i
		found = l
	}
	END { print found == "" ? "-" : found }' "$raw"
}

report_syscalls()
{
	cat <<-EOF
	### System calls per connection

	The server's system calls, all its processes and threads (strace -f
	-c), over $sys_n exchanges of stampbench -t 1 -c 16, 1 worker, after
	a warm-up; per connection, or per datagram, with the three most
	frequent calls. strace slows the server, so calls that batch
	(epoll_wait, recvmmsg) batch somewhat more than they would without
	it. Beside them, the CPU per connection of the cost table.

	EOF
	row server "syscalls/conn" "most frequent, per conn" "us/conn" \
	    "syscalls/datagram" "most frequent, per datagram"
	row --- --: --- --: --: ---
	for s in $servers; do
		t=$(sys tcp "$s")
		u=$(sys udp "$s")
		[ "$t" = - ] && [ "$u" = - ] && continue
		row "$s" "${t%% *}" "$(echo "$t" | cut -s -d' ' -f2-)" \
		    "$(med cost "$s" 16 server_us)" "${u%% *}" \
		    "$(echo "$u" | cut -s -d' ' -f2-)"
	done
	echo
}

report()
{
	r=rounds
	[ "$rounds" = 1 ] && r=round
	cat <<-EOF
	## Measured

	Machine: $machine.

	Load average before the bench: $load0 (after: $load1, its own load
	included).  $rounds $r of $secs s per figure, the servers
	interleaved within each round; each figure is the median over the
	rounds.  ref is bench/refserver (accept, send, close; one
	SO_REUSEPORT listener per thread), ref-m the same sending with
	MSG_MORE, ref-md that with stampd's half-close and drain before the
	close (the same job as stampd, done as cheaply as the kernel
	allows), nginx is nginx $nginx_version stream
	\`return "\$msec\\r\\n";\`, event-rp the event model with --reuseport.

	EOF
	if has tcp; then
		report_targets
		report_tcp
	fi
	has cost && report_cost
	has syscalls && report_syscalls
	has udp && report_udp
	has delay && report_delay
	[ "$(med client event 16 rate)" != - ] ||
	    [ "$(med cost event 16 rate)" != - ] && report_client
	if grep -q '^# note: ' "$raw"; then
		echo "### Notes"
		echo
		sed -n 's/^# note: /- /p' "$raw" | sort -u
		echo
	fi
	echo "Every run is in results.dat.  The bench took" \
	    "$((took / 60)) min $((took % 60)) s."
}

# offset_stats SERVER: the chrony client's offsets from SERVER over every
# round, in microseconds: "N MEDIAN MEDIAN_ABS P25 P75 P95_ABS DELAY"
# (DELAY the median round trip), or "-" if there are none.
offset_stats()
{
	awk -v v="$1" '
	function sort(a, n,    i, j, t) {
		for (i = 1; i < n; i++)
			for (j = i; j > 0 && a[j - 1] > a[j]; j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
	}
	# The p quantile of the sorted a[0..n), between ranks.
	function q(a, n, p,    x, k) {
		x = p * (n - 1)
		k = int(x)
		return k + 1 < n ? a[k] + (x - k) * (a[k + 1] - a[k]) : a[k]
	}
	$1 == "#" && $2 == "ntpoff:" && $3 == v {
		o[n] = $5 * 1e6
		m[n] = o[n] < 0 ? -o[n] : o[n]
		d[n] = $6 * 1e6
		n++
	}
	END {
		if (n == 0) {
			print "-"
			exit
		}
		sort(o, n)
		sort(m, n)
		sort(d, n)
		printf "%d %.2f %.2f %.2f %.2f %.2f %.2f\n", n, q(o, n, 0.5),
		    q(m, n, 0.5), q(o, n, 0.25), q(o, n, 0.75), q(m, n, 0.95),
		    q(d, n, 0.5)
	}' "$raw"
}

# field N WORDS...: the Nth word, or "-".
field()
{
	n=$1
	shift
	eval "echo \${$n:--}"
}

report_ntp()
{
	r=rounds
	[ "$rounds" = 1 ] && r=round
	cat <<-EOF
	### Measured

	Machine: $machine.  Load average before the bench: $load0 (after:
	$load1, its own load included).  $rounds $r of $secs s per figure,
	the servers interleaved within each round; each figure is the
	median over the rounds.  stampd serves with \`--local-stratum 8\`,
	chronyd $chrony_version with the bench's own configuration
	(\`local stratum 8\`, \`allow 127.0.0.1\`, its own port and pid
	file, no command port, no drift file, \`-x\`: the clock is left
	alone).

	#### Replies per second

	\`stampbench -P ntp\`.  Pinned: the server on CPU 0 with one worker
	(\`-w 1\`; chronyd has one thread), stampbench \`-t 1\` on CPU 1.
	Unpinned: 2 workers, stampbench \`-t 2\`.  In brackets: the ratio
	to chronyd.  Errors (no reply within 5 s) and bad replies summed
	over every run.

	EOF
	row server "pinned c=16" "pinned c=256" "unpinned c=16" \
	    "unpinned c=256" "p99 us pinned c=256" errors bad
	row --- --: --: --: --: --: --: --:
	for s in $ntp_servers; do
		set -- "$s"
		for sc in ntpcost:16 ntpcost:256 ntp:16 ntp:256; do
			base=$(med "${sc%:*}" chronyd "${sc#*:}" rate)
			[ "$s" = chronyd ] && base=-
			set -- "$@" "$(vs "$(med "${sc%:*}" "$s" "${sc#*:}" \
			    rate)" "$base")"
		done
		e=0
		b=0
		for sc in ntpcost:16 ntpcost:256 ntp:16 ntp:256; do
			e=$(awk -v a="$e" -v x="$(tot "${sc%:*}" "$s" \
			    "${sc#*:}" errors)" 'BEGIN { print a + x }')
			b=$(awk -v a="$b" -v x="$(tot "${sc%:*}" "$s" \
			    "${sc#*:}" bad)" 'BEGIN { print a + x }')
		done
		row "$@" "$(med ntpcost "$s" 256 p99_us)" "$e" "$b"
	done
	cat <<-EOF

	#### The server's CPU per reply

	The pinned runs: utime + stime of the server's processes
	(/proc/PID/stat) over the run, divided by the replies; and
	stampbench's own (its cpu_us).

	EOF
	row server "us/reply c=16" "/ chronyd" "us/reply c=256" "/ chronyd" \
	    "stampbench us/reply c=16"
	row --- --: --: --: --: --:
	for s in $ntp_servers; do
		a=$(med ntpcost "$s" 16 server_us)
		b=$(med ntpcost "$s" 256 server_us)
		row "$s" "$a" "$(ratio "$a" "$(med ntpcost chronyd 16 \
		    server_us)")" "$b" "$(ratio "$b" "$(med ntpcost chronyd \
		    256 server_us)")" "$(med ntpcost "$s" 16 client_us)"
	done
	cat <<-EOF

	#### What a chrony client measures

	chronyd as a client (\`-x\`, a configuration of its own: \`server
	127.0.0.1 port P minpoll -6 maxpoll -6\`, \`log measurements\`)
	asking each pinned server, idle but for it, 64 times a second;
	the first $ntp_samples offsets it logs in each round, from every
	round.  Client and server read the same clock, so every offset is
	an error, and the truth is 0.  In microseconds; the spread is from
	the 25th to the 75th percentile of the offsets.

	EOF
	row server samples "median offset" "median abs(offset)" \
	    "spread p25 .. p75" "p95 abs(offset)" "median delay"
	row --- --: --: --: --: --: --:
	for s in $ntp_servers; do
		set -- $(offset_stats "$s")
		[ "$1" = - ] && continue
		row "$s" "$1" "$2" "$3" "$4 .. $5" "$6" "$7"
	done
	ca=$(field 3 $(offset_stats chronyd))
	cat <<-EOF

	#### Targets

	Issue 19's, printed, not asserted.

	EOF
	row target measured verdict
	row --- --- ---
	for s in $ntp_servers; do
		[ "$s" = chronyd ] && continue
		for c in 16 256; do
			target "pinned c=$c: $s replies/s >= 3x chronyd" \
			    "$(ratio "$(med ntpcost "$s" $c rate)" \
			    "$(med ntpcost chronyd $c rate)")" '>=' 3
		done
		for c in 16 256; do
			target "pinned c=$c: $s CPU/reply <= 0.3x chronyd" \
			    "$(ratio "$(med ntpcost "$s" $c server_us)" \
			    "$(med ntpcost chronyd $c server_us)")" '<=' 0.3
		done
		target "unpinned c=256: $s replies/s >= 2x chronyd" \
		    "$(ratio "$(med ntp "$s" 256 rate)" \
		    "$(med ntp chronyd 256 rate)")" '>=' 2
		target "median abs(offset): $s <= chronyd" \
		    "$(ratio "$(field 3 $(offset_stats "$s"))" "$ca")" '<=' 1
	done
	echo
	if grep -qi '^# note: .*\(ntp\|chrony\)' "$raw"; then
		echo "#### Notes"
		echo
		grep -i '^# note: .*\(ntp\|chrony\)' "$raw" |
		    sed 's/^# note: /- /' | sort -u
		echo
	fi
}

# totals SECT:CONC... -- SERVER COLUMN: the totals over the rounds of each
# run, added up.
totals()
{
	sm=0
	while [ "$1" != -- ]; do
		sm=$(awk -v a="$sm" -v x="$(tot "${1%:*}" "$3" "${1#*:}" "$4")" \
		    'BEGIN { print a + (x == "-" ? 0 : x) }')
		shift
	done
	echo "$sm"
}

# busy SECTION SERVER CONC COLUMN: the median rate times the median CPU
# per exchange of COLUMN, as a share of one CPU, or "-".
busy()
{
	awk -v r="$(med "$1" "$2" "$3" rate)" -v u="$(med "$1" "$2" "$3" "$4")" \
	    'BEGIN {
		if (r == "-" || u == "-") print "-"
		else printf "%.0f%%\n", r * u / 1e4
	}'
}

# cell SECTION SERVER CONC COLUMN: the median, with its ratio to
# chronyd's in brackets.
cell()
{
	base=-
	[ "$2" = chronyd ] || base=$(med "$1" chronyd "$3" "$4")
	vs "$(med "$1" "$2" "$3" "$4")" "$base"
}

report_nts()
{
	r=rounds
	[ "$rounds" = 1 ] && r=round
	cat <<-EOF
	### NTS, measured

	Machine: $machine.  Load average before the bench: $load0 (after:
	$load1, its own load included).  $rounds $r of $secs s per figure,
	the servers interleaved within each round; each figure is the
	median over the rounds.  Every server has the same ECDSA P-256
	certificate, signed by a CA of the run's own, and serves NTP as
	stratum 8.  Pinned: the server on CPU 0, stampd with one worker
	(\`-w 1\`), chronyd $chrony_version with \`ntsprocesses $nts_procs\`
	(one process for NTP, $nts_procs forked for NTS-KE); stampbench
	\`-t 1\` on CPU 1.  The server's CPU is utime + stime of all its
	processes (/proc/PID/stat) over the run, divided by the good
	exchanges.  In brackets: the ratio to chronyd.  Errors and bad
	replies summed over every run.

	Busy: the share of its CPU a side used, rate times CPU per exchange;
	the side near 100% is the one that set the rate, and when that is
	stampbench the rates compare the client more than the servers, and
	the server's CPU per exchange is the figure to compare.

	#### Key establishments

	\`stampbench -P nts-ke -c 16\`: whole key establishments (TCP, TLS
	1.3 handshake with the certificate verified, request, response,
	close).

	EOF
	row server "KE/s" "server us/KE" "server busy" "stampbench us/KE" \
	    "stampbench busy" errors bad
	row --- --: --: --: --: --: --: --:
	for s in $nts_servers; do
		row "$s" "$(cell ntske "$s" 16 rate)" \
		    "$(cell ntske "$s" 16 server_us)" \
		    "$(busy ntske "$s" 16 server_us)" \
		    "$(cell ntske "$s" 16 client_us)" \
		    "$(busy ntske "$s" 16 client_us)" \
		    "$(tot ntske "$s" 16 errors)" "$(tot ntske "$s" 16 bad)"
	done
	cat <<-EOF

	#### Authenticated NTP

	\`stampbench -P nts\`: NTP requests with NTS's fields (after one key
	establishment), a reply good only when its authenticator verifies.

	EOF
	row server "replies/s c=16" "replies/s c=256" "server us/reply c=16" \
	    "server us/reply c=256" "stampbench busy c=256" errors bad
	row --- --: --: --: --: --: --: --:
	for s in $nts_servers; do
		row "$s" "$(cell nts "$s" 16 rate)" \
		    "$(cell nts "$s" 256 rate)" "$(cell nts "$s" 16 server_us)" \
		    "$(cell nts "$s" 256 server_us)" \
		    "$(busy nts "$s" 256 client_us)" \
		    "$(totals nts:16 nts:256 -- "$s" errors)" \
		    "$(totals nts:16 nts:256 -- "$s" bad)"
	done
	cat <<-EOF

	#### Targets

	stampd over chronyd, printed, not asserted.

	EOF
	row target measured verdict
	row --- --- ---
	for s in $nts_servers; do
		[ "$s" = chronyd ] && continue
		target "$s key establishments/s >= 3x chronyd" \
		    "$(ratio "$(med ntske "$s" 16 rate)" \
		    "$(med ntske chronyd 16 rate)")" '>=' 3
		target "$s CPU per key establishment <= 0.5x chronyd" \
		    "$(ratio "$(med ntske "$s" 16 server_us)" \
		    "$(med ntske chronyd 16 server_us)")" '<=' 0.5
		for c in 16 256; do
			target "c=$c: $s NTS replies/s >= 3x chronyd" \
			    "$(ratio "$(med nts "$s" $c rate)" \
			    "$(med nts chronyd $c rate)")" '>=' 3
		done
	done
	echo
	if grep -qi '^# note: .*\(nts\|chrony\)' "$raw"; then
		echo "#### Notes"
		echo
		grep -i '^# note: .*\(nts\|chrony\)' "$raw" |
		    sed 's/^# note: /- /' | sort -u
		echo
	fi
}

if main_sections; then
	report >"$md"
	cat "$md"
fi
if has proxy-silent; then
	report_silent >"$silentmd"
	cat "$silentmd"
fi
if has ntp; then
	report_ntp >"$ntpmd"
	cat "$ntpmd"
fi
if has nts; then
	report_nts >"$ntsmd"
	cat "$ntsmd"
fi

# --- the charts --------------------------------------------------------

# spread SECTION SERVER CONC COLUMN: the median, the least and the
# greatest over the rounds, for a bar and its error bar ("- - -" if none).
spread()
{
	echo "$(med "$@") $(med "$@" min) $(med "$@" max)"
}

# dat SECTION COLUMN CONC...: a server per line, for each concurrency
# three columns: c=N (the median), then its least and greatest.
dat()
{
	d_sect=$1
	d_col=$2
	shift 2
	line=server
	for c in "$@"; do
		line="$line c=$c min max"
	done
	echo "$line"
	for s in $servers; do
		line=$s
		for c in "$@"; do
			line="$line $(spread "$d_sect" "$s" "$c" "$d_col")"
		done
		echo "$line"
	done
}

dat tcp rate 1 16 256 1024 >"$out/throughput.dat"
dat tcp p99_us 1 16 256 1024 >"$out/p99.dat"
{
	echo "server TCP min max UDP min max"
	for s in $servers; do
		echo "$s $(spread cost "$s" 16 server_us)" \
		    "$(spread ucost "$s" 16 server_us)"
	done
} >"$out/cost.dat"
if ! has tcp || ! has cost; then
	log "no charts: they need the tcp and cost sections"
elif command -v gnuplot >/dev/null; then
	gnuplot -e "dat='$out'; img='$img'" "$root/bench/plot.gp" ||
	    log "gnuplot failed"
	log "charts in $img"
fi

# doc_block MARK FILE: FILE into docs/models.md, between its markers
# "<!-- MARK: begin" and "<!-- MARK: end", if it has them.
doc_block()
{
	[ -f "$root/docs/models.md" ] &&
	    grep -q "^<!-- $1: begin" "$root/docs/models.md" || return 0
	awk -v md="$2" -v b="^<!-- $1: begin" -v e="^<!-- $1: end" '
	$0 ~ b {
		print
		while ((getline l < md) > 0)
			print l
		skip = 1
		next
	}
	$0 ~ e { skip = 0 }
	!skip' "$root/docs/models.md" >"$tmp/models.md" &&
	    cat "$tmp/models.md" >"$root/docs/models.md" &&
	    log "tables written into docs/models.md ($1)"
}

# The tables into docs/models.md: each block only from a run that
# measured it, so that BENCH_SECTIONS=ntp leaves the others as they are.
if [ "$doc" = 1 ]; then
	main_sections && doc_block bench "$md"
	has ntp && doc_block bench-ntp "$ntpmd"
	has nts && doc_block bench-nts "$ntsmd"
fi
wrote=
main_sections && wrote="$md, "
has proxy-silent && wrote="$wrote$silentmd, "
has ntp && wrote="$wrote$ntpmd, "
has nts && wrote="$wrote$ntsmd, "
log "results in $wrote$raw"
