# plot.gp: the bench's charts, from the medians bench/run.sh writes.
#
#	gnuplot -e "dat='build/bench'; img='docs/img'" bench/plot.gp
#
# dat holds throughput.dat, p99.dat and cost.dat: a header line, then one
# line per server, "-" where a figure is missing.

if (!exists("dat")) dat = "build/bench"
if (!exists("img")) img = "docs/img"

set terminal pngcairo size 960,520 font "sans,10"
set datafile missing "-"
set style data histograms
set key autotitle columnhead
set offsets 0.5, 0.5, 0, 0
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key above horizontal reverse Left
set grid ytics
set xtics nomirror
set ytics nomirror
set format y "%'.0f"

set output img."/throughput.png"
set title "TCP connections per second (2 workers, stampbench -t 2)"
set ylabel "connections/s (median of the rounds)"
set yrange [0:*]
plot for [i=2:5] dat."/throughput.dat" using i:xtic(1) title columnhead(i)

set output img."/p99.png"
set title "TCP p99 latency, by concurrency (same runs)"
set ylabel "p99 latency, microseconds (log scale)"
set logscale y
set yrange [10:*]
set format y "%.0f"
plot for [i=2:5] dat."/p99.dat" using i:xtic(1) title columnhead(i)

set output img."/cost.png"
unset logscale y
# The fork model costs ten times the rest: clip its bar, print its value.
set yrange [0:10<*<60]
set format y "%.0f"
set title "Server CPU per reply (server pinned to CPU 0, 1 worker, c=16)"
set ylabel "microseconds of CPU per reply"
clip(y) = y > 54 ? 54 : y
plot dat."/cost.dat" using 2:xtic(1) title "TCP connection", \
     "" using 3 title "UDP datagram", \
     "" using ($0 - 0.17):(clip($2)):(sprintf("%.1f", $2)) \
	with labels offset 0,0.7 font ",8" notitle, \
     "" using ($0 + 0.17):(clip($3)):(sprintf("%.1f", $3)) \
	with labels offset 0,0.7 font ",8" notitle
