#!/bin/sh
# privilege.t: root binds the low ports, then stampd serves as nobody.
#
# As root, stampd binds time (37) and daytime (13) on a loopback address
# of this test's own (127.0.0.2, or 127.0.0.3 should that be taken), then
# runs as nobody, or as the user --user names; only --user root keeps
# root.  /proc says who it is once serving: every uid and gid, the groups,
# and no capability left.  A real unprivileged user, made here for the
# test and removed after, cannot bind port 37 at all and serves a high
# port as itself.  Needs root (useradd, setpriv, ports below 1024).

. "$(dirname "$0")/../lib.sh"

lib_need useradd userdel setpriv

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root: binds ports 13 and 37, adds a user"
	exit 0
fi

# The user made for the test (lib_user), removed at the end.
TUSER=stampd-test-$$

# children: the pids whose parent is $CHILD_OF.
children()
{
	local f line rest

	for f in /proc/[0-9]*/stat; do
		{ read -r line < "$f"; } 2>/dev/null || continue
		# The name in parentheses may hold spaces: skip past it.
		rest=${line##*) }
		set -- $rest
		[ "$2" = "$CHILD_OF" ] && echo "${f#/proc/}" | cut -d/ -f1
	done
}

# status PID FIELD: the value of FIELD (Uid, Gid, Groups, CapEff...) in
# /proc/PID/status, its columns separated by single spaces.
status()
{
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | tr -s ' \t' '  ' |
	    sed 's/ $//'
}

# spawn N CMD...: run CMD (stdout and stderr to a log) and wait at most
# 5 s (scaled) for N "listening" lines; sets PID (timeout's), DPID (the
# daemon's) and LOG.  Returns 1 when it died or was not ready in time.
spawn()
{
	local n="$1" i=0 got most

	shift
	most=$(($(lib_scale 5) * 10))
	LIB_SEQ=$((LIB_SEQ + 1))
	LOG=$LIB_TMP/priv.$LIB_SEQ.log
	lib_spawn "$LOG" "$@"
	PID=$LIB_PID
	while [ $i -lt "$most" ]; do
		got=$(grep -c ' listening ' "$LOG")
		[ "${got:-0}" -ge "$n" ] && break
		lib_alive "$PID" || break
		sleep 0.1
		i=$((i + 1))
	done
	if [ "${got:-0}" -lt "$n" ]; then
		diag "$* did not report $n listeners within $(lib_scale 5) s:"
		diag_file "$LOG"
		lib_stop "$PID"
		return 1
	fi
	# timeout(1) runs the daemon: its one child.
	CHILD_OF=$PID
	DPID=$(children | sed -n 1p)
	[ -n "$DPID" ]
}

# port TRANSPORT PROTOCOL: the port of that listener in $LOG.
port()
{
	stampd_port "$1" "$ADDR" "$2" "$LOG"
}

# asks WHAT PROTOCOL PORT [-u]: stamp asks $ADDR, its time must be now.
asks()
{
	local what="$1" proto="$2" p="$3" t0 t1 out

	shift 3
	t0=$(date +%s)
	out=$(lib_timeout 20 "$STAMP" -q -t "$(lib_scale 5)" -P "$proto" \
	    -p "$p" "$@" "$ADDR" \
	    2> "$LIB_TMP/stamp.err")
	st=$?
	t1=$(date +%s)
	if [ $st -ne 0 ]; then
		ok 1 "$what"
		diag "stamp exited $st:"
		diag_file "$LIB_TMP/stamp.err"
		return 1
	fi
	within "$out" "$t0" "$t1" "$what"
}

# who PID UID GID WHAT: every uid and gid of PID, its groups, and its
# capabilities are those of UID and GID.
who()
{
	local pid="$1" uid="$2" gid="$3" what="$4" groups want_caps

	is "$(status "$pid" Uid)" "$uid $uid $uid $uid" \
	    "$what: real, effective, saved and fs uid $uid"
	is "$(status "$pid" Gid)" "$gid $gid $gid $gid" \
	    "$what: real, effective, saved and fs gid $gid"
	groups=$(status "$pid" Groups)
	if [ "$uid" = 0 ]; then
		want_caps=$(status $$ CapEff)
		is "$(status "$pid" CapEff)" "$want_caps" \
		    "$what: root keeps its capabilities"
	else
		case " $groups " in
		*" 0 "*)	ok 1 "$what: not in group 0 ($groups)" ;;
		*)		ok 0 "$what: not in group 0 ($groups)" ;;
		esac
		is "$(status "$pid" CapEff)" 0000000000000000 \
		    "$what: no effective capability"
		is "$(status "$pid" CapPrm)" 0000000000000000 \
		    "$what: no permitted capability"
	fi
}

NOBODY_UID=$(id -u nobody) && NOBODY_GID=$(id -g nobody) ||
    bail "no user nobody here"
DAEMON_UID=$(id -u daemon) && DAEMON_GID=$(id -g daemon) ||
    bail "no user daemon here"

# ---- root, without --user: nobody, on 37 and 13 --------------------------

LOW="-l tcp:@:37/time -l udp:@:37/time -l tcp:@:13/daytime
    -l udp:@:13/daytime"
started=1
for ADDR in 127.0.0.2 127.0.0.3; do
	if spawn 4 "$STAMPD" -m event $(echo $LOW | sed "s/@/$ADDR/g"); then
		started=0
		break
	fi
	grep -q 'Address already in use' "$LOG" || break
	diag "$ADDR:37 or :13 is taken: trying the next address"
done
ok $started "as root: binds $ADDR ports 37 and 13 (tcp and udp)"
if [ $started -eq 0 ]; then
	who "$DPID" "$NOBODY_UID" "$NOBODY_GID" "as root, no --user"
	asks "time over TCP on port 37" time 37
	asks "time over UDP on port 37" time 37 -u
	asks "daytime over TCP on port 13" daytime 13
	asks "daytime over UDP on port 13" daytime 13 -u
	lib_stop "$PID"
	is $? 0 "SIGTERM: exit 0"
else
	diag_file "$LOG"
fi

# ---- a pool: the workers it forks are nobody as well ---------------------

if spawn 2 "$STAMPD" -m prefork -w 2 -l "tcp:$ADDR:37/time" \
    -l "udp:$ADDR:37/time"; then
	ok 0 "prefork as root: starts"
	CHILD_OF=$DPID
	i=0
	most=$(($(lib_scale 5) * 10))
	while [ "$(children | wc -l)" -lt 2 ] && [ $i -lt "$most" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	n=0
	for w in $(children); do
		n=$((n + 1))
		who "$w" "$NOBODY_UID" "$NOBODY_GID" "prefork worker $n"
	done
	is "$n" 2 "prefork: its 2 workers were looked at"
	who "$DPID" "$NOBODY_UID" "$NOBODY_GID" "prefork parent"
	asks "prefork: time over TCP" time 37
	lib_stop "$PID"
	is $? 0 "prefork: SIGTERM: exit 0"
else
	ok 1 "prefork as root: starts"
fi

# ---- --user root keeps root; --user daemon is daemon ---------------------

if spawn 1 "$STAMPD" -u root -l "tcp:$ADDR:37/time"; then
	ok 0 "--user root: starts"
	who "$DPID" 0 0 "--user root"
	asks "--user root: time over TCP" time 37
	lib_stop "$PID"
	is $? 0 "--user root: SIGTERM: exit 0"
else
	ok 1 "--user root: starts"
fi

if spawn 1 "$STAMPD" --user daemon -l "tcp:$ADDR:13/daytime"; then
	ok 0 "--user daemon: starts"
	who "$DPID" "$DAEMON_UID" "$DAEMON_GID" "--user daemon"
	asks "--user daemon: daytime over TCP" daytime 13
	lib_stop "$PID"
	is $? 0 "--user daemon: SIGTERM: exit 0"
else
	ok 1 "--user daemon: starts"
fi

# ---- --user of no one: exit 1, one clear line ----------------------------

NOSUCH=stampd-nosuch-$$
lib_timeout 20 "$STAMPD" --user "$NOSUCH" -l "tcp:$ADDR:0" \
    > "$LIB_TMP/nosuch.out" 2> "$LIB_TMP/nosuch.err"
is $? 1 "--user $NOSUCH: exit 1"
like "$(cat "$LIB_TMP/nosuch.err")" \
    "^stampd: --user $NOSUCH: no such user\$" \
    "--user $NOSUCH: says so in one line"
is "$(grep -cv ' listening ' "$LIB_TMP/nosuch.err")" 1 \
    "--user $NOSUCH: and nothing else"

# ---- a real unprivileged user --------------------------------------------

lib_user "$TUSER"
if ! ok $? "useradd $TUSER"; then
	diag_file "$LIB_TMP/useradd.err"
	done_testing
fi
TUID=$(id -u "$TUSER")
TGID=$(id -g "$TUSER")
# Its own copy, so that no directory on the way needs to be open to it.
BIN=$LIB_TMP/bin/stampd
mkdir -p "$LIB_TMP/bin" && cp "$STAMPD" "$BIN" &&
    chmod 755 "$LIB_TMP" "$LIB_TMP/bin" "$BIN" ||
    bail "cannot copy $STAMPD for $TUSER"
AS="setpriv --reuid=$TUID --regid=$TGID --clear-groups --"

# Not read(1): dash reads a byte at a time, and sysctl files give a
# second read nothing.
unpriv=$(cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
if [ "$unpriv" -le 37 ]; then
	skip "$TUSER cannot bind port 37" \
	    "ip_unprivileged_port_start is $unpriv here"
	skip "$TUSER: Permission denied" "likewise"
else
	lib_timeout 20 $AS "$BIN" -l "tcp:$ADDR:37/time" \
	    > "$LIB_TMP/low.out" 2> "$LIB_TMP/low.err"
	is $? 1 "$TUSER cannot bind port 37: exit 1"
	like "$(cat "$LIB_TMP/low.err")" \
	    "^stampd: bind tcp:$ADDR:37/time: Permission denied\$" \
	    "$TUSER: stampd says Permission denied"
fi

lib_timeout 20 $AS "$BIN" --user nobody -l "tcp:$ADDR:0" \
    > "$LIB_TMP/su.out" 2> "$LIB_TMP/su.err"
is $? 1 "$TUSER cannot become nobody with --user: exit 1"
like "$(grep -v ' listening ' "$LIB_TMP/su.err")" \
    '^stampd: --user nobody: Operation not permitted$' \
    "$TUSER --user nobody: says why"

if spawn 2 $AS "$BIN" -l "tcp:$ADDR:0/stamp" -l "udp:$ADDR:0/stamp"; then
	ok 0 "$TUSER binds high ports"
	who "$DPID" "$TUID" "$TGID" "$TUSER, no --user"
	asks "$TUSER: stamp over TCP" stamp "$(port tcp stamp)"
	asks "$TUSER: stamp over UDP" stamp "$(port udp stamp)" -u
	lib_stop "$PID"
	is $? 0 "$TUSER: SIGTERM: exit 0"
else
	ok 1 "$TUSER binds high ports"
fi

done_testing
