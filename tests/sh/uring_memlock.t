#!/bin/sh
# uring_memlock.t: the uring model's rings are judged before anything is
# bound, as the user stampd will run as.  Each ring's memory counts
# against that user's RLIMIT_MEMLOCK; started as root, stampd drops to
# nobody, which has no CAP_IPC_LOCK, so a limit too small for the rings of
# -w workers is named by --check, and a start refuses it in one line
# before a single "listening" line.  The limits are set for stampd alone
# (ulimit -l in a subshell).  Needs root: the drop from root is the case.
#
# Locked memory is counted per user, every process of it together: a user
# of its own (made here, removed at the end), so that other tests' rings,
# run as nobody at the same time, take nothing from this one's limit.
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root: the drop to nobody is what is judged"
	exit 0
fi
. "$(dirname "$0")/../lib.sh"

lib_need useradd userdel
TUSER=stampd-memlock-$$
lib_user "$TUSER" || bail "useradd $TUSER: $(cat "$LIB_TMP/useradd.err")"

# run LIMIT_KIB ARGS...: stampd under RLIMIT_MEMLOCK LIMIT_KIB; its exit
# status in $rc, its stderr in $LIB_TMP/err.
run()
{
	local limit=$1

	shift
	lib_timeout 20 sh -c 'ulimit -l "$1"; shift; exec "$@"' sh "$limit" \
	    "$STAMPD" -u "$TUSER" "$@" < /dev/null > /dev/null \
	    2> "$LIB_TMP/err"
	rc=$?
}

# This machine must give uring its rings when nothing limits them: the
# test is about the limit, not about a kernel without io_uring.
lib_timeout 20 "$STAMPD" -u "$TUSER" -m uring -w 1 -l tcp:127.0.0.1:0 --check \
    < /dev/null > /dev/null 2> "$LIB_TMP/err" ||
    bail "-m uring cannot run here: $(cat "$LIB_TMP/err")"

for w in 1 4; do
	run 0 -m uring -w $w -l tcp:127.0.0.1:0 --check
	is "$rc" 1 "-w $w, RLIMIT_MEMLOCK 0: --check refuses it"
	like "$(cat "$LIB_TMP/err")" \
	    "^stampd: -m uring: .*RLIMIT_MEMLOCK.*ulimit -l" \
	    "-w $w: one line that names the limit and how to raise it"
	is "$(wc -l < "$LIB_TMP/err")" 1 "-w $w: one line"
	run 0 -m uring -w $w -l tcp:127.0.0.1:0
	is "$rc" 1 "-w $w, RLIMIT_MEMLOCK 0: the start refuses it"
	! grep -q listening "$LIB_TMP/err"
	ok $? "-w $w: before anything is bound"
done

# Room for a ring or two, not for 64: the worker that would not get its
# ring is named, with what to change.
run 1024 -m uring -w 64 -l tcp:127.0.0.1:0 --check
is "$rc" 1 "-w 64 under 1 MiB: --check refuses it"
like "$(cat "$LIB_TMP/err")" \
    "^stampd: -m uring: the ring of worker [0-9]+ of 64: .*RLIMIT_MEMLOCK.*-w" \
    "-w 64: names the worker, the limit, and fewer workers"

# event needs no locked memory at all.
run 0 -m event -w 4 -l tcp:127.0.0.1:0 --check
is "$rc" 0 "-m event under RLIMIT_MEMLOCK 0: taken"

done_testing
