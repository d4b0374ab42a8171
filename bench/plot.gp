# plot.gp: the bench's charts, from the figures bench/run.sh writes.
#
#	gnuplot -e "dat='build/bench'; img='docs/img'" bench/plot.gp
#
# dat holds throughput.dat, p99.dat and cost.dat: a header line, then one
# line per server, for each figure three columns: the median over the
# rounds (the bar), the least and the greatest round (its error bar);
# "-" where a figure is missing, which is drawn as "not measured", never
# as a bar of zero.  Under each chart, a line says what limits it.

if (!exists("dat")) dat = "build/bench"
if (!exists("img")) img = "docs/img"

set terminal pngcairo size 960,560 font "sans,10"
set datafile missing "-"
set style data histograms
set key autotitle columnhead
set offsets 0.5, 0.5, 0, 0
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key above horizontal reverse Left
set grid ytics
set xtics nomirror
set ytics nomirror
set bmargin 7
set format y "%'.0f"
# The centre of bar j (0 first) of k in a cluster, gap 1, cluster x.
bar(x, j, k) = x + (j - (k - 1) / 2.0) / (k + 1)
# A missing figure says so where its bar would stand.
absent(c) = valid(c) ? "" : "not measured"
caption(s) = sprintf("set label 1 \"%s\" at screen 0.5, screen 0.06 " . \
    "center font \",9\" noenhanced", s)

set output img."/throughput.png"
set title "TCP connections per second (2 workers, stampbench -t 2)"
set ylabel "connections/s: median, bar from least to greatest round"
set yrange [0:*]
eval caption("Client-bound: stampbench shares the 2 CPUs and costs nearly twice any server per connection (its io_uring loop\\nincluded), so these bars measure the pair, client and server; the cost chart tells the servers apart.")
plot for [i=0:3] dat."/throughput.dat" using 2+3*i:3+3*i:4+3*i:xtic(1) \
	title columnhead(2+3*i), \
     for [i=0:3] "" using (bar($0, i, 4)):(0):(absent(2+3*i)) \
	with labels rotate left offset 0,0.5 font ",8" notitle

set output img."/p99.png"
set title "TCP p99 latency, by concurrency (same runs)"
set ylabel "p99 latency, us (log scale): median, bar least to greatest"
set logscale y
set yrange [10:*]
set format y "%.0f"
eval caption("The same two CPUs shared with the client: at high concurrency the tail is how the VM schedules two busy CPUs\\nas much as the server; it moves most between rounds, as the bars show.")
plot for [i=0:3] dat."/p99.dat" using 2+3*i:3+3*i:4+3*i:xtic(1) \
	title columnhead(2+3*i), \
     for [i=0:3] "" using (bar($0, i, 4)):(12):(absent(2+3*i)) \
	with labels rotate left offset 0,0.5 font ",8" notitle

set output img."/cost.png"
unset logscale y
# The fork model costs ten times the rest: clip its bar, print its value.
set yrange [0:10<*<60]
set format y "%.0f"
set title "Server CPU per reply (server pinned to CPU 0, 1 worker, c=16)"
set ylabel "us of CPU per reply: median, bar least to greatest"
eval caption("Server and client each on a CPU of its own: the fairest figure here. Bars above 54 are cut, their value printed.\\nnot measured: that server has no such figure (the MSG_MORE references serve TCP only).")
clip(y) = y > 54 ? 54 : y
plot dat."/cost.dat" using (clip($2)):(clip($3)):(clip($4)):xtic(1) \
	title "TCP connection", \
     "" using (clip($5)):(clip($6)):(clip($7)) title "UDP datagram", \
     "" using (bar($0, 0, 2)):(clip($2)):(sprintf("%.1f", $2)) \
	with labels offset 0,0.7 font ",8" notitle, \
     "" using (bar($0, 1, 2)):(clip($5)):(sprintf("%.1f", $5)) \
	with labels offset 0,0.7 font ",8" notitle, \
     "" using (bar($0, 0, 2)):(0):(absent(2)) \
	with labels rotate left offset 0,0.5 font ",8" notitle, \
     "" using (bar($0, 1, 2)):(0):(absent(5)) \
	with labels rotate left offset 0,0.5 font ",8" notitle
