#!/bin/sh
# map.t: HACKING.md, the map of the code, names every module under src/
# with its job, and names nothing that is gone; the README points at it;
# and no module's includes lead back to it (the layers of the map hold).
# A module added without a line in the map fails here.
. "$(dirname "$0")/../lib.sh"

lib_need python3

top=$(cd "$(dirname "$0")/../.." && pwd)
map=$top/HACKING.md
[ -f "$map" ] || bail "no HACKING.md"

for f in "$top"/src/*.c "$top"/src/*.h; do
	m=$(basename "$f")
	m=${m%.*}
	# A module is named as `NAME.c`, `NAME.h` or `NAME.[ch]`, first in
	# a row of the table.
	grep -q "^| \`$m\.\(c\|h\|\[ch\]\)\` |" "$map"
	ok $? "HACKING.md names src/$(basename "$f")'s module, $m"
done

# Every module the table names is there.
sed -n 's/^| `\([a-z_]*\)\.\(c\|h\|\[ch\]\)` |.*/\1/p' "$map" \
    > "$LIB_TMP/named"
while read -r m; do
	[ -e "$top/src/$m.c" ] || [ -e "$top/src/$m.h" ]
	ok $? "HACKING.md's $m is a module under src/"
done < "$LIB_TMP/named"

# No circle: a module's includes never lead back to it.
python3 - "$top/src" > "$LIB_TMP/circles" <<'PY'
import glob, os, re, sys
g = {}
for f in glob.glob(os.path.join(sys.argv[1], "*.[ch]")):
    m = os.path.basename(f).rsplit(".", 1)[0]
    for inc in re.findall(r'#include "([a-z_]+)\.h"', open(f).read()):
        if inc != m:
            g.setdefault(m, set()).add(inc)
def reach(a, b, seen):
    return any(x == b or (x not in seen and not seen.add(x) and
        reach(x, b, seen)) for x in g.get(a, ()))
for m in sorted(g):
    if reach(m, m, set()):
        print(m)
PY
is "$(tr '\n' ' ' < "$LIB_TMP/circles")" "" \
    "no module's includes lead back to it"

grep -q 'HACKING.md' "$top/README.md"
ok $? "the README points at HACKING.md"

done_testing
