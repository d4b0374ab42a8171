#!/bin/sh
# prometheus.t: the metrics listener, read by Prometheus's own tools.
#
# Every model serves a page that promtool checks clean, with the same
# metric names, among them the process_* families and stampd_build_info
# that Prometheus users look for (prefork's summed over its processes); a
# malformed request gets a 4xx; announcements are counted; and a real
# Prometheus, started here on loopback with a private config and data
# directory, scrapes stampd after stampbench has asked it, and its query
# API returns the replies stampbench counted, by listener too.
. "$(dirname "$0")/../lib.sh"

lib_need promtool prometheus python3

# body: the page without the HTTP head.
body()
{
	sed '1,/^\r$/d'
}

# names: the metric names of a page, sorted.
names()
{
	grep '^# TYPE ' | awk '{ print $3 }' | sort
}

# The families every page must have.
FAMILIES='process_cpu_seconds_total process_open_fds process_max_fds
process_resident_memory_bytes process_virtual_memory_bytes
process_start_time_seconds stampd_build_info stampd_accepted_total
stampd_replies_total stampd_limited_total stampd_announcements_total'

# value PAGE NAME: the value of the sample NAME (labels and all) in PAGE.
value()
{
	grep -F "$2 " "$1" | while read -r line; do
		[ "${line% *}" = "$2" ] && echo "${line##* }"
	done
}

models=$(lib_models)
set -- $models
case $models in
*prefork*)	plan $(($# * 5 + 17)) ;;
*)		plan $(($# * 5 + 16)) ;;
esac

first=
for m in $models; do
	stampd_start -m "$m" $(lib_model_args "$m" -w 2) -l tcp:127.0.0.1:0 \
	    -l tcp:127.0.0.1:0/metrics
	port=$(stampd_port tcp 127.0.0.1 metrics)
	tport=$(stampd_port tcp 127.0.0.1 stamp)
	lib_timeout 10 "$STAMP" -q -p "$tport" 127.0.0.1 > /dev/null
	# The reply is counted as it is sent: the client may be told first.
	sample="stampd_replies_total{listener=\"tcp 127.0.0.1:$tport stamp\","
	sample="${sample}transport=\"tcp\",protocol=\"stamp\"}"
	lib_wait 10 eval '[ "$(lib_scrape "$port" | body |
	    tee "$LIB_TMP/page.$m" | value /dev/stdin "$sample")" = 1 ]'
	ok $? "$m: the stamp listener's reply, by its label"
	promtool check metrics < "$LIB_TMP/page.$m" > "$LIB_TMP/lint" 2>&1
	ok $? "$m: promtool check metrics finds nothing" ||
	    diag_file "$LIB_TMP/lint"
	names < "$LIB_TMP/page.$m" > "$LIB_TMP/names.$m"
	missing=
	for f in $FAMILIES; do
		grep -qx "$f" "$LIB_TMP/names.$m" || missing="$missing $f"
	done
	is "$missing" "" "$m: process_*, build info, by listener, by transport"
	if [ "$m" = prefork ]; then
		# Its workers' memory is summed with the main process's.
		main=$(awk '{ sub(/.*\) /, ""); print $21 }' \
		    "/proc/$STAMPD_PID/stat")
		vm=$(value "$LIB_TMP/page.$m" process_virtual_memory_bytes)
		ok "$([ "${vm:-0}" -gt "${main:-0}" ]; echo $?)" \
		    "prefork: its processes' memory summed ($vm bytes), more \
than the main one's ($main)"
	fi
	[ -n "$first" ] || first=$m
	cmp -s "$LIB_TMP/names.$first" "$LIB_TMP/names.$m"
	ok $? "$m: the same metric names as $first" || {
		diff "$LIB_TMP/names.$first" "$LIB_TMP/names.$m" |
		    sed 's/^/# /' | head -20
		diag "the page was $(wc -c < "$LIB_TMP/page.$m") bytes"
	}
	lib_stop "$STAMPD_PID"
	is $? 0 "$m: exit 0"
done

stampd_start -l tcp:127.0.0.1:0 -l udp:127.0.0.1:0 -l tcp:127.0.0.1:0/metrics
port=$(stampd_port tcp 127.0.0.1 metrics)
tport=$(stampd_port tcp 127.0.0.1 stamp)
uport=$(stampd_port udp 127.0.0.1 stamp)
like "$(lib_scrape "$port" 'POST /metrics HTTP/1.1\r\n\r\n' |
    sed -n 1p)" '^HTTP/1.1 405 ' "POST: 405"
like "$(lib_scrape "$port" 'GET /other HTTP/1.1\r\n\r\n' | sed -n 1p)" \
    '^HTTP/1.1 404 ' "another path: 404"
like "$(lib_scrape "$port" 'hello\r\n\r\n' | sed -n 1p)" \
    '^HTTP/1.1 400 ' "not HTTP: 400"
lib_scrape "$port" | body > "$LIB_TMP/page"
is "$(value "$LIB_TMP/page" \
    "stampd_accepted_total{listener=\"tcp 127.0.0.1:$port metrics\"}")" 4 \
    "accepted by listener: the metrics listener's four"
like "$(value "$LIB_TMP/page" process_start_time_seconds)" \
    '^[1-9][0-9]{9}\.[0-9]{2}$' "process_start_time_seconds: a Unix time"
is "$(value "$LIB_TMP/page" process_max_fds)" \
    "$(awk '/^Max open files/ { print $4 }' "/proc/$STAMPD_PID/limits")" \
    "process_max_fds: stampd's limit of open files"
like "$(grep '^stampd_build_info' "$LIB_TMP/page")" \
    '^stampd_build_info\{version="[^"]+",tls="(gnutls|none)",'\
'uring="(yes|no)",model="event"\} 1$' \
    "stampd_build_info: version, tls, uring"

# The load whose replies Prometheus must count.
tcp=$(lib_timeout 60 "$STAMPBENCH" -q -n 3000 -c 8 127.0.0.1 "$tport" |
    sed -n 's/.* ok=\([0-9]*\) .*/\1/p')
udp=$(lib_timeout 60 "$STAMPBENCH" -q -u -n 500 -c 4 127.0.0.1 "$uport" |
    sed -n 's/.* ok=\([0-9]*\) .*/\1/p')
ok "$([ "${tcp:-0}" -gt 0 ] && [ "${udp:-0}" -gt 0 ]; echo $?)" \
    "stampbench: $tcp TCP and $udp UDP replies"

# Prometheus on a port of its own (it cannot take port 0 and say which it
# got: retried on a collision), scraping every second.
cat > "$LIB_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: stampd
    static_configs:
      - targets: ['127.0.0.1:$port']
EOF
tries=0
while [ $tries -lt 10 ]; do
	pport=$(lib_free_port tcp) || break
	lib_spawn "$LIB_TMP/prometheus.log" prometheus \
	    --config.file="$LIB_TMP/prometheus.yml" \
	    --storage.tsdb.path="$LIB_TMP/tsdb.$tries" \
	    --web.listen-address="127.0.0.1:$pport"
	PROM=$LIB_PID
	lib_wait 20 grep -q 'Server is ready\|address already in use' \
	    "$LIB_TMP/prometheus.log"
	grep -q 'address already in use' "$LIB_TMP/prometheus.log" || break
	lib_stop "$PROM" > /dev/null
	tries=$((tries + 1))
done
grep -q 'Server is ready' "$LIB_TMP/prometheus.log"
ok $? "prometheus is up on 127.0.0.1:$pport"

# query EXPR: the value Prometheus's API gives for EXPR, or nothing.
query()
{
	python3 -c '
import json, sys, urllib.parse, urllib.request
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1],
    urllib.parse.quote(sys.argv[2]))
r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
print(r[0]["value"][1] if r else "")
' "$pport" "$1" 2> /dev/null
}

counted()
{
	[ "$(query 'sum(stampd_replies_total{transport="tcp"})')" = "$tcp" ] &&
	[ "$(query 'sum(stampd_replies_total{transport="udp"})')" = "$udp" ]
}
lib_wait 30 counted
ok $? "prometheus: its API says $(query 'sum(stampd_replies_total{transport="tcp"})') TCP and $(query 'sum(stampd_replies_total{transport="udp"})') UDP replies, as stampbench counted"
is "$(query 'up{job="stampd"}')" 1 "prometheus: the target is up"
is "$(query "stampd_replies_total{listener=\"udp 127.0.0.1:$uport stamp\"}")" \
    "$udp" "prometheus: the UDP listener's replies, by its label"
lib_stop "$PROM" > /dev/null
promtool check rules "$(dirname "$0")/../../contrib/prometheus/stampd.rules.yml" \
    > "$LIB_TMP/rules" 2>&1
ok $? "promtool check rules: contrib's alerts" || diag_file "$LIB_TMP/rules"
lib_stop "$STAMPD_PID" > /dev/null

# Announcements, to a port on loopback where no one listens: counted sent.
aport=$(lib_free_port udp)
stampd_start -l tcp:127.0.0.1:0/metrics --announce "udp:127.0.0.1:$aport" \
    --every 1
port=$(stampd_port tcp 127.0.0.1 metrics)
announced()
{
	lib_scrape "$port" | body > "$LIB_TMP/page"
	sent=$(value "$LIB_TMP/page" \
	    'stampd_announcements_total{kind="broadcast"}')
	[ "${sent:-0}" -ge 1 ]
}
lib_wait 10 announced
ok $? "announcements counted: $sent to udp 127.0.0.1:$aport" ||
    diag_file "$LIB_TMP/page"
is "$(value "$LIB_TMP/page" stampd_announce_failures_total)" 0 \
    "and none failed"
lib_stop "$STAMPD_PID"
is $? 0 "stampd exits 0"
done_testing
