#!/bin/sh
# faults.t: every failure path ends the same way in every model: a worker
# whose loop fails is replaced or the daemon stops with exit 1, never
# serves nobody while alive; a transient failure is retried; a delay ends
# early for a stop and for nothing else.  Faults are injected into the
# running daemon's system calls with strace(1) attached to it by pid, so
# that only what happens after the attach fails.  The last part holds
# every model that stampd --help lists to the same answer when its wait
# for work fails.
. "$(dirname "$0")/../lib.sh"

lib_need strace

# daemon: the pid of stampd itself (STAMPD_PID is timeout(1), its parent).
daemon()
{
	cat "/proc/$STAMPD_PID/task/$STAMPD_PID/children" 2>/dev/null |
	    tr ' ' '\n' | sed -n 1p
}

# children PID: its child processes, one a line.
children()
{
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' |
	    sed '/^$/d'
}

# traced PID: PID is traced by strace, or gone (the fault struck as
# strace attached).
traced()
{
	lib_alive "$1" || return 0
	grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$1/status" 2> /dev/null
}

# attach PIDS STRACE-ARGS...: strace -f on each of PIDS (a list) in the
# background (sets TRACER), once the kernel says each is traced.  Its
# trace goes to TRACE_OUT, or nowhere.
attach()
{
	local pids="$1" p

	shift
	for p in $pids; do
		set -- -p "$p" "$@"
	done
	lib_spawn "$LIB_TMP/strace.log" strace -f -qq \
	    -o "${TRACE_OUT:-/dev/null}" "$@"
	TRACER=$LIB_PID
	for p in $pids; do
		lib_wait 5 traced "$p" && continue
		diag "strace did not attach to $p"
		diag_file "$LIB_TMP/strace.log"
		return 1
	done
	return 0
}

detach()
{
	lib_stop "$TRACER" > /dev/null
}

# ask PORT [ARGS]: one stamp client, true if it got a valid reply.
ask()
{
	local port="$1"

	shift
	lib_timeout 10 "$STAMP" -q -t "$(lib_scale 3)" -p "$port" "$@" \
	    127.0.0.1 > /dev/null 2>&1
}

# await COMMAND...: run it every tenth of a second until it succeeds.
await()
{
	lib_wait 5 "$@"
}

# gone_or_served PID PORT: PID has ended, or it serves a client of PORT
# and has not begun to stop (its last "stats:" line): SERVED is then set.
gone_or_served()
{
	lib_alive "$1" || return 0
	ask "$2" && ! grep -q ' stats: ' "$STAMPD_LOG" || return 1
	SERVED=1
}

logged()
{
	grep -q "$1" "$STAMPD_LOG"
}

exited()
{
	! lib_alive "$1"
}


# prefork: the replacement of a killed worker cannot make its signal pipe
# (ENFILE): the daemon says so, goes on, and replaces it once it can.
stampd_start -m prefork -w 1 -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
pid=$(daemon)
attach "$pid" -e trace=pipe2 -e inject=pipe2:error=ENFILE:when=1
kill -KILL "$(children "$pid")"
await logged "could not start"
ok $? "prefork: a replacement that cannot start is logged"
lib_alive "$pid"
ok $? "prefork: and the daemon goes on"
detach
await ask "$port"
ok $? "prefork: once pipes can be had again, a worker serves"
lib_stop "$STAMPD_PID"
is $? 0 "prefork: SIGTERM, exit 0"

# iterative: poll fails for want of memory once: retried, not an exit.
stampd_start -m iterative -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
pid=$(daemon)
attach "$pid" -e trace=poll -e inject=poll:error=ENOMEM:when=1
ask "$port"
await logged "poll: Cannot allocate memory"
ok $? "iterative: poll's ENOMEM is logged"
detach
ask "$port"
ok $? "iterative: and it serves on after it"
lib_stop "$STAMPD_PID"
is $? 0 "iterative: SIGTERM, exit 0"

# event: a worker's epoll_wait fails: the daemon stops with exit 1 rather
# than live on with no worker.
stampd_start -m event -w 1 -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
pid=$(daemon)
# The attach itself may restart the epoll_wait in progress, and that
# call fails; otherwise a client wakes the worker into the next.
attach "$pid" -e trace=epoll_wait -e inject=epoll_wait:error=EBADF:when=1
ask "$port"
await exited "$pid"
ok $? "event: a worker whose epoll_wait fails stops the daemon"
detach
lib_stop "$STAMPD_PID"
is $? 1 "event: with exit status 1"
like "$(cat "$STAMPD_LOG")" "epoll_wait" "event: the log says why"

# accept4 failing with an error that concerns one connection (EPROTO-
# NOSUPPORT, ENOSR, ESOCKTNOSUPPORT, says accept(2)) is counted and
# survived: only a broken listener is fatal.
stampd_start -m event -w 1 -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
pid=$(daemon)
attach "$pid" -e trace=accept4 \
    -e inject=accept4:error=EPROTONOSUPPORT:when=1..3
ask "$port"
ask "$port"
detach
lib_alive "$pid"
ok $? "event: accept4 failing EPROTONOSUPPORT three times: still running"
ask "$port"
ok $? "event: and it serves after"
lib_stop "$STAMPD_PID"
is $? 0 "event: SIGTERM, exit 0"

# dynamic --min-spare 0: a pool whose only worker dies is never left empty.
stampd_start -m dynamic -w 1 --min-spare 0 --max-spare 1 \
    -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
pid=$(daemon)
await test -n "$(children "$pid")"
kill -KILL "$(children "$pid")"
await ask "$port"
ok $? "dynamic --min-spare 0: its only worker killed, a new one serves"
lib_stop "$STAMPD_PID"

# A batch of datagrams whose first reply cannot be sent: that one is
# counted and skipped, and the rest of the batch still goes.  The daemon
# is stopped while ten clients send, so that all ten come in one batch.
stampd_start -m event -w 1 -l udp:127.0.0.1:0
port=$(stampd_port udp 127.0.0.1 stamp)
pid=$(daemon)
attach "$pid" -e trace=sendmmsg -e inject=sendmmsg:error=EPERM:when=1
kill -STOP "$pid"
i=0
while [ $i -lt 10 ]; do
	ask "$port" -u -r 0 > "$LIB_TMP/batch.$i" 2>&1 &
	eval "asker$i=\$!"
	i=$((i + 1))
done
sleep 0.5
kill -CONT "$pid"
good=0
i=0
while [ $i -lt 10 ]; do
	eval "wait \$asker$i" && good=$((good + 1))
	i=$((i + 1))
done
detach
is "$good" 9 "a batch whose first reply fails: the other 9 are answered"
lib_stop "$STAMPD_PID"
is $? 0 "and SIGTERM, exit 0"

# iterative: a signal that is not a stop (SIGALRM of --stats-interval, a
# hundred a second) does not cut --delay short: the reply comes no sooner
# than the delay (a lower bound, which no busy machine can break).
stampd_start -m iterative -D 1000 --stats-interval 0.01 \
    -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
t0=$(date +%s%N)
ask "$port"
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 950 ]
ok $? "iterative -D 1000 --stats-interval 0.01: replied after $ms ms"
lib_stop "$STAMPD_PID"

# event: a stop ends a --delay at once: the client waiting is answered
# and the daemon exits long before the 30 s delay would have passed.
stampd_start -m event -D 30000 -l tcp:127.0.0.1:0
port=$(stampd_port tcp 127.0.0.1 stamp)
lib_timeout 40 "$STAMP" -q -t 35 -p "$port" 127.0.0.1 > "$LIB_TMP/late" 2>&1 &
client=$!
sleep 0.5
t0=$(date +%s)
lib_stop "$STAMPD_PID"
is $? 0 "event -D 30000: SIGTERM, exit 0"
wait "$client"
ok $? "event -D 30000: the client waiting was answered at the stop"
t1=$(date +%s)
[ $((t1 - t0)) -lt 20 ]
ok $? "event -D 30000: stopped in $((t1 - t0)) s, not after the delay"
# ---- every model's wait for work -------------------------------------------
# Each model waits for work in one call (poll, epoll_wait or
# io_uring_enter), found here by watching it serve two clients.  That call
# short of memory (ENOMEM, its first three times) is retried: the client
# is answered, the failure logged, the daemon serves on.  Failing for good
# (EBADF) ends the worker, which is replaced, or the daemon stops with
# exit 1; either way the log says why, and it never lives on serving
# nobody.
waits=poll,ppoll,epoll_wait,epoll_pwait,io_uring_enter
for m in $(lib_models); do
	if ! stampd_start -m "$m" $(lib_model_args "$m" -w 1) \
	    -l tcp:127.0.0.1:0; then
		ok 1 "$m: starts" # the diagnostics are stampd_start's
		continue
	fi
	port=$(stampd_port tcp 127.0.0.1 stamp)
	pid=$(daemon)
	pids="$pid $(children "$pid")"
	TRACE_OUT=$LIB_TMP/waits.$m attach "$pids" -e trace=$waits
	ask "$port"
	ask "$port"
	detach
	call=$(sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$LIB_TMP/waits.$m" |
	    sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
	[ -n "$call" ]
	ok $? "$m: waits for work in ${call:-no call seen}" || {
		lib_stop "$STAMPD_PID"
		continue
	}

	# The call in progress at the attach may be restarted unseen: the
	# first client wakes the model into the next, which fails, while a
	# second waits to be answered.  Detached only once it has failed.
	attach "$pids" -e trace="$call" -e inject="$call":error=ENOMEM:when=1..3
	ask "$port" && ask "$port"
	ok $? "$m: $call failing ENOMEM three times: the clients are answered"
	await logged "$call: Cannot allocate memory"
	ok $? "$m: the failure is logged"
	detach
	lib_alive "$pid" && ask "$port"
	ok $? "$m: and it serves on"

	attach "$pids" -e trace="$call" -e inject="$call":error=EBADF:when=1
	ask "$port"
	ask "$port"
	await logged "$call: Bad file descriptor"
	ok $? "$m: $call failing EBADF is logged"
	detach
	# The failure ends what it came in: the daemon (exit 1), or a worker
	# of a pool (a new one serves).  Whichever comes is waited for: a
	# daemon still alive just after may be on its way out (slowly, under
	# ASan), serving what it had queued.
	SERVED=
	await gone_or_served "$pid" "$port"
	if [ -n "$SERVED" ]; then
		ok 0 "$m: the daemon lives on, so a new worker serves"
		lib_stop "$STAMPD_PID"
	else
		lib_stop "$STAMPD_PID"
		is $? 1 "$m: the daemon stopped, with exit status 1"
	fi
done

# ---- a wait that keeps failing with EBUSY or EINTR --------------------------
# EBUSY (completions to reap first) and EINTR (a signal, a tracer) say
# "ask again", once.  Kept up, they are failures like the others: logged
# at a limited rate, rested rather than spun on, and bounded: the worker
# gives up and the daemon exits 1.  A SIGTERM meanwhile is honoured, since
# the stop is read every turn and not only through the wait that fails.
# Each model's wait is found as above; the fault lasts until the end.

# wait_call PIDS PORT: the call the daemon waits for work in.
wait_call()
{
	TRACE_OUT=$LIB_TMP/waits attach "$1" -e trace=$waits || return 1
	ask "$2"
	ask "$2"
	detach
	sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$LIB_TMP/waits" |
	    sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

for m in $(lib_models); do
	for err in EBUSY EINTR; do
		case $err in
		EBUSY)	text="Device or resource busy" ;;
		EINTR)	text="Interrupted system call" ;;
		esac
		for end in term lasting; do
			if ! stampd_start -m "$m" $(lib_model_args "$m" -w 1) \
			    -l tcp:127.0.0.1:0; then
				ok 1 "$m: starts"
				continue
			fi
			port=$(stampd_port tcp 127.0.0.1 stamp)
			pid=$(daemon)
			pids="$pid $(children "$pid")"
			call=$(wait_call "$pids" "$port")
			if [ -z "$call" ]; then
				ok 1 "$m: waits for work in no call seen"
				lib_stop "$STAMPD_PID"
				continue
			fi
			attach "$pids" -e trace="$call" \
			    -e inject="$call":error=$err
			# A client wakes a wait the attach did not restart.
			ask "$port" -t 1 &
			waker=$!
			await logged "$call: $text"
			ok $? "$m: $call failing $err, kept up: logged"
			if [ $end = term ]; then
				kill -TERM "$pid" 2>/dev/null
				await exited "$pid"
				ok $? "$m: $call failing $err: SIGTERM ends it"
			else
				# The rule gives up after 5 s in a row.
				lib_wait 15 exited "$pid"
				ok $? "$m: $call failing $err for good: it ends"
			fi
			detach
			wait "$waker"
			lib_stop "$STAMPD_PID"
			st=$?
			if [ $end = lasting ]; then
				is $st 1 "$m: with exit status 1"
			fi
		done
	done
done
done_testing
