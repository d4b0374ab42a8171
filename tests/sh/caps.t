#!/bin/sh
# caps.t: each model takes the options it honours, and no other.
#
# For every model and every option that not every model may take, the
# table below says whether stampd takes it.  Taken: --check exits 0 and
# says nothing.  Refused: --check and a start both exit 2 with the one
# line "stampd: -m MODEL does not take OPTION" first, and the start binds
# nothing.  The table is written out, not read from stampd, so that a
# model's capabilities cannot drift unseen; a model stampd lists that the
# table lacks fails here.  Only 127.0.0.1 port 0 is ever named.
. "$(dirname "$0")/../lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/caps.XXXXXX") || bail "mktemp"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

# run ARGS...: stampd's exit status in $rc, its stderr in $tmp/err.
run()
{
	lib_timeout 10 "$STAMPD" "$@" </dev/null >/dev/null 2>"$tmp/err"
	rc=$?
}

# taken MODEL ARGS...: --check passes, silent.  A model this machine
# cannot run (uring without io_uring) exits 1 naming itself, and has then
# still not refused the option.
taken()
{
	local model=$1

	shift
	run -m "$model" "$@" --check
	if [ "$rc" = 1 ] &&
	    grep -q "^stampd: -m $model: " "$tmp/err"; then
		note "-m $model cannot run here: $(head -n 1 "$tmp/err")"
		rc=0
		: >"$tmp/err"
	fi
	[ "$rc" = 0 ] && [ ! -s "$tmp/err" ]
	ok $? "-m $model${*:+ $*}: taken (exit $rc)" || diag_file "$tmp/err"
}

# refused MODEL NAME ARGS...: --check and a start exit 2, the reason first.
refused()
{
	local model=$1 name=$2 how

	shift 2
	for how in --check "-l tcp:127.0.0.1:0"; do
		# $how is split on purpose: "-l" and its listener.
		# shellcheck disable=SC2086
		run -m "$model" "$@" $how
		is "$rc" 2 "-m $model $* $how: exit 2" || diag_file "$tmp/err"
		is "$(head -n 1 "$tmp/err")" \
		    "stampd: -m $model does not take $name" \
		    "-m $model $* $how: the model and the option named"
	done
}

# try MODEL y|n NAME ARGS...
try()
{
	local model=$1 want=$2 name=$3

	shift 3
	case $want in
	y)	taken "$model" "$@" ;;
	n)	refused "$model" "$name" "$@" ;;
	*)	bail "caps.t: '$want' for -m $model $*: want y or n" ;;
	esac
}

# The columns: -w, --max-workers, --min-spare, --max-spare, -D,
# --reuseport, and -w with --reuseport (where -w sizes each listener's
# group of sockets, in every model).
cat >"$tmp/table" <<'EOF'
event		y n n n y y y
iterative	n n n n y y y
fork		n y n n y y y
prefork		y n n n y y y
dynamic		y y y y y y y
threads		n y n n y y y
uring		y n n n y y y
EOF

lib_models >"$tmp/models"
[ -s "$tmp/models" ]
ok $? "stampd --help lists its models" || bail "no models"
awk '{ print $1 }' "$tmp/table" >"$tmp/rows"
missing=$(grep -vxF -f "$tmp/rows" "$tmp/models")
is "$missing" "" "every model stampd lists has a row in the table"
gone=$(grep -vxF -f "$tmp/models" "$tmp/rows")
is "$gone" "" "every row of the table is a model stampd lists"

while read -r model w maxw mins maxs delay rp wrp; do
	try "$model" "$w" "-w (--workers)" -w 2
	try "$model" "$maxw" "--max-workers" --max-workers 4
	try "$model" "$mins" "--min-spare" --min-spare 1
	try "$model" "$maxs" "--max-spare" --max-spare 4
	try "$model" "$delay" "-D (--delay)" -D 10
	try "$model" "$rp" "--reuseport" --reuseport
	try "$model" "$wrp" "-w (--workers)" -w 2 --reuseport
	# What is not given is never refused: the defaults suit every model.
	taken "$model"
done <"$tmp/table"

# Given, an option is refused even at its default value: the model would
# ignore it all the same.
refused event "--max-workers" --max-workers 256
# The long name and the option after -m are no different.
refused iterative "-w (--workers)" --workers 2
run -w 2 -m threads --check
is "$(head -n 1 "$tmp/err")" \
    "stampd: -m threads does not take -w (--workers)" \
    "-w before -m: refused all the same"
# --help says which models take each such option.
lib_timeout 10 "$STAMPD" --help >"$tmp/help" 2>&1
grep -A1 -e "--min-spare N" "$tmp/help" | grep -q "taken by -m dynamic$"
ok $? "--help: --min-spare is taken by -m dynamic" || diag_file "$tmp/help"

done_testing
