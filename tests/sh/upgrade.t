#!/bin/sh
# upgrade.t: an upgrade in place (SIGUSR2) and a restart under a supervisor
# that holds the sockets lose no client, in every model; a binary that
# cannot start is refused, said, and the old one goes on serving.
#
# For every model that stampd --help lists (and event with --reuseport, for
# the groups), stampbench -c 64 asks over TCP and UDP for UPGRADE_SECS (3)
# seconds while stampd is sent SIGUSR2 UPGRADE_TIMES (3) times, each once
# the last is done: every exchange must get a good reply (no refusal, no
# reset, no timeout, no bad reply), every upgrade must say it serves on in
# the same pid, on the same ports, with as many fds as before, and the
# daemon must still stop with exit 0.  Then the same load while
# tests/sockhold.py, which holds the sockets as systemd's socket unit
# does, restarts stampd UPGRADE_RESTARTS (3) times: SIGTERM, wait, start.
# Last, in every model: under load, the binary at stampd's path is
# replaced by one that passes --check and then fails to start (exits 1,
# crashes, lacks a library): each is refused at its trial start, said, and
# no client is refused; then by a script that exits 1, then removed, then
# made unexecutable: each SIGUSR2 is logged with its reason and the daemon
# answers after it; put back, the next one upgrades.
# Then, in every model: a replacement whose --check hangs is checked beside
# serving (5 clients answered, each within 2 s, while the check is alive)
# and refused at the 5 s timeout, said; and a SIGTERM during the check, as
# the check passes, and once the daemon says it passed (UPGRADE_TERMS, 20,
# tries each of the last two) always ends the daemon with exit 0, with no
# new image serving when it came before the check ended.
#
# bench/upgrade.sh runs this with the issue's numbers (20 s, 20 upgrades,
# 10 restarts); each run's figures are "figure" lines of the TAP output.
# Only loopback, only ports the kernel picks; every process by its pid.
. "$(dirname "$0")/../lib.sh"

lib_need python3 timeout awk
# Its upgrades run the binary again as the user stampd drops to.
lib_stampd_reachable

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMPBENCH" ] && [ -x "$STAMPBENCH" ] ||
    bail "STAMPBENCH is not an executable: '$STAMPBENCH' (run through make check)"
[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"

SECS=${UPGRADE_SECS:-3}
TIMES=${UPGRADE_TIMES:-3}
RESTARTS=${UPGRADE_RESTARTS:-3}
TERMS=${UPGRADE_TERMS:-20}
MODELS=${UPGRADE_MODELS:-$(lib_models | tr '\n' ' ')event-rp}
[ -n "$MODELS" ] || bail "$STAMPD --help lists no model"
# The pause between two upgrades or restarts, spread over the load.
GAP=$(awk -v s="$SECS" -v n="$TIMES" 'BEGIN { print s / (n + 1) }')
RGAP=$(awk -v s="$SECS" -v n="$RESTARTS" 'BEGIN { print s / (n + 1) }')

# field FILE KEY: the number after "KEY " or "KEY=" in FILE, or empty.
field()
{
	sed -n "s/.*[ (]$2[ =]\([0-9][0-9]*\).*/\1/p" "$1" | sed -n 1p
}

# The daemon under timeout(1): its one child.
child_of()
{
	lib_children "$1" once | awk '{ print $1 }'
}

fds()
{
	ls "/proc/$1/fd" 2>/dev/null | wc -l | tr -d ' '
}

# count FILE TEXT: the lines of FILE that hold TEXT.
count()
{
	grep -cF -- "$2" "$1" 2>/dev/null
}

# at_least N FILE TEXT: N lines of FILE hold TEXT (for lib_wait).
at_least()
{
	[ "$(count "$2" "$3")" -ge "$1" ]
}

# args MODEL: stampd's arguments for it (event-rp: event with --reuseport).
args()
{
	case $1 in
	event-rp)	echo "-m event --reuseport -w 2" ;;
	*)		echo "-m $1 $(lib_model_args "$1" -w 2)" ;;
	esac
}

# load TCPPORT UDPPORT NAME: start stampbench on both; sets B1 B2.
load()
{
	lib_spawn "$LIB_TMP/$3.tcp" "$STAMPBENCH" -c 64 -d "$SECS" \
	    127.0.0.1 "$1"
	B1=$LIB_PID
	lib_spawn "$LIB_TMP/$3.udp" "$STAMPBENCH" -u -c 64 -d "$SECS" \
	    127.0.0.1 "$2"
	B2=$LIB_PID
}

# judge NAME FILE: what one stampbench saw: good replies, nothing else.
judge()
{
	local f="$2" good bad err

	good=$(field "$f" ok)
	bad=$(field "$f" bad)
	err=$(field "$f" errors)
	note "figure $1 ok=${good:-?} bad=${bad:-?} errors=${err:-?}\
 refused=$(field "$f" refused) reset=$(field "$f" reset)\
 timeout=$(field "$f" timeout) other=$(field "$f" other)"
	if [ -z "$good" ] || [ -z "$bad" ] || [ -z "$err" ]; then
		ok 1 "$1: stampbench printed its counts"
		diag_file "$f"
		return
	fi
	ok $([ "$good" -gt 0 ] && [ "$bad" -eq 0 ] && [ "$err" -eq 0 ];
	    echo $?) "$1: $good good replies, no bad one, no error" ||
	    diag_file "$f"
}

# finish NAME FILE: wait for the load of load ... FILE to end by itself,
# then judge it.
finish()
{
	lib_wait $((SECS + 30)) lib_gone "$B1"
	lib_wait $((SECS + 30)) lib_gone "$B2"
	lib_stop "$B1"
	lib_stop "$B2"
	judge "$1 tcp" "$LIB_TMP/$2.tcp"
	judge "$1 udp" "$LIB_TMP/$2.udp"
}

# upgrades MODEL: the load while SIGUSR2 comes TIMES times.
upgrades()
{
	local m="$1" name="upgrade $1" dpid fd0 fd1 tcp udp i done

	# shellcheck disable=SC2046
	stampd_start $(args "$m") -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 ||
	    { ok 1 "$name: starts"; return; }
	dpid=$(child_of "$STAMPD_PID")
	tcp=$(stampd_port tcp 127.0.0.1 stamp)
	udp=$(stampd_port udp 127.0.0.1 stamp)
	sleep 0.5
	fd0=$(fds "$dpid")
	load "$tcp" "$udp" "up-$m"
	i=0
	while [ $i -lt "$TIMES" ]; do
		sleep "$GAP"
		i=$((i + 1))
		kill -USR2 "$dpid"
		lib_wait 10 at_least $i "$STAMPD_LOG" "upgraded: " || break
	done
	finish "$name" "up-$m"
	done=$(count "$STAMPD_LOG" "upgraded: serving what was handed over, \
pid $dpid")
	is "$done" "$TIMES" "$name: $TIMES upgrades, each in pid $dpid" ||
	    diag_file "$STAMPD_LOG"
	ok $(lib_alive "$dpid"; echo $?) "$name: pid $dpid serves on"
	is "$(grep ' listening tcp ' "$STAMPD_LOG" | sort -u | wc -l |
	    tr -d ' ')" 1 "$name: every image on the same TCP port ($tcp)"
	lib_wait 5 sh -c "[ \$(ls /proc/$dpid/fd | wc -l) -eq $fd0 ]"
	fd1=$(fds "$dpid")
	is "$fd1" "$fd0" "$name: as many fds after as before (no leak)"
	is "$(count "$STAMPD_LOG" "still serving")" 0 \
	    "$name: no upgrade was refused"
	stampd_stop
	is $? 0 "$name: stops on SIGTERM with exit 0"
}

# restarts MODEL: the load while the socket holder restarts stampd.
restarts()
{
	local m="$1" name="restart $1" log="$LIB_TMP/hold.$1.log" spid
	local tcp udp i st

	# shellcheck disable=SC2046
	lib_spawn "$log" python3 -u "$TOP/tests/sockhold.py" -t 127.0.0.1 \
	    -u 127.0.0.1 -- "$STAMPD" $(args "$m")
	spid=$LIB_PID
	if ! lib_wait 5 at_least 2 "$log" " listening "; then
		ok 1 "$name: the holder starts stampd on its sockets"
		diag_file "$log"
		lib_stop "$spid"
		return
	fi
	tcp=$(sed -n 's/^tcp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
	udp=$(sed -n 's/^udp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
	load "$tcp" "$udp" "held-$m"
	i=0
	while [ $i -lt "$RESTARTS" ]; do
		sleep "$RGAP"
		i=$((i + 1))
		kill -HUP "$(child_of "$spid")"
		lib_wait 35 at_least 1 "$log" "restart $i: " || break
		lib_wait 5 at_least $((2 * i + 2)) "$log" " listening " ||
		    break
	done
	finish "$name" "held-$m"
	is "$(count "$log" "exited 0, pid")" "$RESTARTS" \
	    "$name: $RESTARTS restarts, each stampd stopped with exit 0" ||
	    diag_file "$log"
	lib_stop "$spid"
	st=$?
	is "$st" 0 "$name: the last stampd stops with exit 0" ||
	    diag_file "$log"
}

# refused WHAT WANT [STAGE]: SIGUSR2 with the binary as WHAT made it:
# refused at STAGE (--check) for WANT, said, still served.
refused()
{
	local what="$1" want="$2" stage="${3:---check}" n

	n=$(count "$STAMPD_LOG" "still serving")
	kill -USR2 "$DPID"
	lib_wait 10 at_least $((n + 1)) "$STAMPD_LOG" "still serving"
	like "$(grep 'still serving' "$STAMPD_LOG" | tail -n 1)" \
	    "upgrade: $BIN/stampd $stage: $want; still serving" \
	    "$what: the old stampd says why"
	lib_timeout 10 "$STAMP" -p "$PORT" 127.0.0.1 > "$LIB_TMP/ask" 2>&1
	ok $? "$what: the old stampd still answers" ||
	    diag_file "$LIB_TMP/ask"
}

# replace BIN FAILURE: a binary at BIN/stampd that passes --check (it is
# stampd for that) and, without it, does FAILURE; renamed over the old, as
# a package manager does.
replace()
{
	{
		echo '#!/bin/sh'
		echo 'for a; do'
		echo "	[ \"\$a\" = --check ] && exec '$STAMPD' \"\$@\""
		echo 'done'
		echo "$2"
	} > "$1/new" && chmod 755 "$1/new" && mv -f "$1/new" "$1/stampd"
}

# on_trial MODEL: under load, three binaries that pass --check and then
# fail to start (exit 1, a crash, a library that does not load) are each
# refused at their trial start: said, and not one client refused.
on_trial()
{
	local m="$1" tcp udp

	udp=$(stampd_port udp 127.0.0.1 stamp)
	# An empty libc where the loader looks first: it cannot load.
	mkdir -p "$BIN/nolib" && : > "$BIN/nolib/libc.so.6" &&
	    chmod 755 "$BIN/nolib"
	load "$PORT" "$udp" "trial-$m"
	replace "$BIN" 'exit 1'
	refused "$m, passes --check, exits 1" "exited 1" "started on trial"
	replace "$BIN" 'kill -SEGV $$'
	refused "$m, passes --check, crashes" "killed by signal 11" \
	    "started on trial"
	replace "$BIN" "LD_LIBRARY_PATH='$BIN/nolib' exec '$STAMPD' \"\$@\""
	refused "$m, passes --check, lacks a library" "exited 127" \
	    "started on trial"
	finish "$m, three failed trial starts" "trial-$m"
}

# broken MODEL: a binary that cannot start is refused, and said.
broken()
{
	local m="$1" st

	BIN=$LIB_TMP/bin.$m
	mkdir "$BIN" && cp "$STAMPD" "$BIN/stampd" && chmod 755 "$BIN"
	STAMPD_LOG=$LIB_TMP/broken.$m.log
	# shellcheck disable=SC2046
	lib_spawn "$STAMPD_LOG" "$BIN/stampd" $(args "$m") \
	    -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0
	STAMPD_PID=$LIB_PID
	if ! lib_wait 5 at_least 2 "$STAMPD_LOG" " listening "; then
		ok 1 "broken $m: a copy of stampd starts"
		diag_file "$STAMPD_LOG"
		return
	fi
	DPID=$(child_of "$STAMPD_PID")
	PORT=$(stampd_port tcp 127.0.0.1 stamp)
	on_trial "$m"
	# As a package manager does: a new file renamed over the old.
	printf '#!/bin/sh\necho "stampd: a broken build" >&2\nexit 1\n' \
	    > "$BIN/new" && chmod 755 "$BIN/new" && mv -f "$BIN/new" "$BIN/stampd"
	refused "$m, replaced by one that fails" "exited 1"
	rm -f "$BIN/stampd"
	refused "$m, removed" "No such file or directory"
	cp "$STAMPD" "$BIN/stampd" && chmod 644 "$BIN/stampd"
	refused "$m, not executable" "Permission denied"
	chmod 755 "$BIN/stampd"
	kill -USR2 "$DPID"
	lib_wait 10 at_least 1 "$STAMPD_LOG" "upgraded: "
	is "$(count "$STAMPD_LOG" "upgraded: serving what was handed over, \
pid $DPID")" 1 "$m, put back: the next SIGUSR2 upgrades to it"
	lib_stop "$STAMPD_PID"
	st=$?
	is "$st" 0 "broken $m: stops on SIGTERM with exit 0"
}

# copy MODEL NAME [ARGS]: start a copy of stampd at $BIN/stampd, as broken
# does, with ARGS (those MODEL takes) too; sets BIN STAMPD_LOG STAMPD_PID
# DPID PORT.  Returns 1 if it did not start.
copy()
{
	BIN=$LIB_TMP/bin.$2
	rm -rf "$BIN"
	mkdir "$BIN" "$BIN/run" && cp "$STAMPD" "$BIN/stampd" &&
	    chmod 755 "$BIN" && chmod 777 "$BIN/run" &&
	    cp "$STAMPD" "$BIN/real" || return 1
	STAMPD_LOG=$LIB_TMP/$2.log
	# shellcheck disable=SC2046
	lib_spawn "$STAMPD_LOG" "$BIN/stampd" $(args "$1") \
	    $(lib_model_args "${1%-rp}" $3) -l tcp:127.0.0.1:0
	STAMPD_PID=$LIB_PID
	if ! lib_wait 5 at_least 1 "$STAMPD_LOG" " listening "; then
		diag_file "$STAMPD_LOG"
		lib_stop "$STAMPD_PID"
		return 1
	fi
	DPID=$(child_of "$STAMPD_PID")
	PORT=$(stampd_port tcp 127.0.0.1 stamp)
}

# wrapper CHECK: put at $BIN/stampd a script that runs the shell words
# CHECK when given --check, and the real copy otherwise (as a package
# manager does: renamed over the old file).
wrapper()
{
	printf '#!/bin/sh\nif [ "$1" = --check ]; then\n%s\nfi\nexec %s "$@"\n' \
	    "$1" "$BIN/real" > "$BIN/new" && chmod 755 "$BIN/new" &&
	    mv -f "$BIN/new" "$BIN/stampd"
}

# hang MODEL: a replacement whose --check hangs: the check runs beside
# serving (clients answered while the check is alive, each within 2 s
# where the check takes 5), and the upgrade is refused at the timeout.
hang()
{
	local m="$1" name="hanging check, $1" cpid i n=0 st

	copy "$m" "hang.$m" || { ok 1 "$name: a copy of stampd starts"; return; }
	# The check says it runs, with its pid, and then hangs.
	wrapper "echo \$\$ > $BIN/run/check.pid; exec sleep 30"
	kill -USR2 "$DPID"
	lib_wait 5 test -s "$BIN/run/check.pid"
	cpid=$(cat "$BIN/run/check.pid" 2>/dev/null)
	ok $([ -n "$cpid" ] && lib_alive "$cpid"; echo $?) \
	    "$name: the check runs (pid ${cpid:-?})" ||
	    diag_file "$STAMPD_LOG"
	i=0
	while [ $i -lt 5 ]; do
		i=$((i + 1))
		lib_timeout 2 "$STAMP" -p "$PORT" 127.0.0.1 \
		    > "$LIB_TMP/ask" 2>&1 && n=$((n + 1))
	done
	ok $([ -n "$cpid" ] && lib_alive "$cpid" && [ $n -eq 5 ]; echo $?) \
	    "$name: 5 of 5 clients answered ($n) while the check ran" ||
	    diag_file "$STAMPD_LOG"
	lib_wait 10 at_least 1 "$STAMPD_LOG" "still serving"
	like "$(grep 'still serving' "$STAMPD_LOG" | tail -n 1)" \
	    "upgrade: $BIN/stampd --check: did not finish within 5000 ms;\
 killed; still serving" "$name: refused at the timeout, and said"
	lib_timeout 10 "$STAMP" -p "$PORT" 127.0.0.1 > "$LIB_TMP/ask" 2>&1
	ok $? "$name: the old stampd still answers" || diag_file "$LIB_TMP/ask"
	lib_stop "$STAMPD_PID"
	st=$?
	is "$st" 0 "$name: stops on SIGTERM with exit 0"
}

# term_once MODEL CHECK WANT [passed]: SIGUSR2 with a --check that runs
# CHECK (which may send SIGTERM to the daemon, $D), or with "passed" a TERM
# sent from here once the daemon logs that the check passed: the daemon
# must exit 0 by itself within 5 s, and, if WANT is "never", no new image
# may have served.  Returns 0 if all held; the log is in $STAMPD_LOG.
term_once()
{
	local st

	# A pool that is slow to stop widens the window after the check.
	copy "$1" "term.$1" "--max-workers 4096" || return 1
	wrapper "D=$DPID; $2"
	kill -USR2 "$DPID"
	if [ "$4" = passed ]; then
		timeout 5 sh -c 'until grep -q "passed --check" "$0"; do :; done' \
		    "$STAMPD_LOG"
		kill -TERM "$DPID"
	fi
	lib_wait 5 lib_gone "$STAMPD_PID" || { lib_stop "$STAMPD_PID"; return 1; }
	lib_stop "$STAMPD_PID"
	st=$?
	[ "$st" -eq 0 ] || return 1
	[ "$3" != never ] || [ "$(count "$STAMPD_LOG" "upgraded: ")" -eq 0 ]
}

# terms MODEL: TERM at each step of an upgrade wins over USR2.
terms()
{
	local m="$1" i lost=0

	term_once "$m" 'kill -TERM $D; sleep 3; exit 0' never
	ok $? "TERM during the check, $m: exits 0, no new image serves" ||
	    diag_file "$STAMPD_LOG"
	grep -q "a stop came during the check" "$STAMPD_LOG"
	ok $? "TERM during the check, $m: the check is cancelled, and said" ||
	    diag_file "$STAMPD_LOG"
	i=0
	while [ $i -lt "$TERMS" ]; do
		i=$((i + 1))
		term_once "$m" 'kill -TERM $D; exit 0' never ||
		    { lost=$((lost + 1)); diag_file "$STAMPD_LOG"; }
	done
	is "$lost" 0 "TERM as the check passes, $m: $TERMS tries, none lost"
	# After the check: TERM from here as soon as the daemon says it
	# passed, landing in the stop, the handover or the exec (main lost 7
	# of 15 in dynamic); one that comes once the new image serves stops
	# that one.
	i=0
	lost=0
	while [ $i -lt "$TERMS" ]; do
		i=$((i + 1))
		term_once "$m" 'exit 0' any passed ||
		    { lost=$((lost + 1)); diag_file "$STAMPD_LOG"; }
	done
	is "$lost" 0 "TERM after the check passed, $m: $TERMS tries, none lost"
}

# The copies live here: the daemon, as nobody, must reach them.
chmod 711 "$LIB_TMP"

for m in $MODELS; do
	note "---- $m"
	upgrades "$m"
	restarts "$m"
done
for m in $MODELS; do
	broken "$m"
	hang "$m"
	terms "$m"
done

done_testing
