#!/bin/sh
# container.t: what can be checked of contrib/docker/Dockerfile and
# contrib/k8s/stampd.yaml without a container engine or a cluster, which
# this machine has neither of.
#
# The Dockerfile: a small parser of ours checks each instruction's syntax,
# that what it copies exists (in this tree, or in what the build stage's own
# make install line installs, run here into a temporary root), and that the
# ports, user and commands agree; stampd then runs the image's CMD, moved to
# loopback and port 0, and the image's HEALTHCHECK command asks it.
# The manifest: PyYAML parses it, and every field is checked against the
# Kubernetes API's own object models as python3-kubernetes generates them
# from its OpenAPI schema (apiVersion, names, types, required fields), then
# selectors, port names and probes against each other and the Dockerfile.
# The apply is not exercised: that is for a machine with a cluster.  The
# image is built and run by image.t (podman); this test keeps the checks
# that hold for docker's build of the same file too.
. "$(dirname "$0")/../lib.sh"

lib_need python3 make

TOP=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$STAMP" ] && [ -x "$STAMP" ] ||
    bail "STAMP is not an executable: '$STAMP' (run through make check)"
[ -n "$STAMP_BUILD" ] && [ -x "$STAMP_BUILD/stampd" ] ||
    bail "STAMP_BUILD holds no stampd: '$STAMP_BUILD' (run through make check)"

# Debian's python3, which python3-yaml and python3-kubernetes serve, not
# whichever a user's PATH finds first.
PY=/usr/bin/python3
"$PY" -c 'import yaml, kubernetes.client' 2> "$LIB_TMP/py.err"
ok $? "$PY has PyYAML and the Kubernetes models" || {
	diag "(Debian's python3-yaml and python3-kubernetes: tests/deps.sh)"
	diag_file "$LIB_TMP/py.err"
	done_testing
}

# The build stage's make install, with its own variables, into a root of
# ours: python finds the line and gives us the variables.
"$PY" - "$TOP/contrib/docker/Dockerfile" > "$LIB_TMP/vars" <<'PY'
import re, sys
text = re.sub(r'\\\n', ' ', open(sys.argv[1]).read())
for line in text.splitlines():
    if re.match(r'\s*RUN\b', line) and ' install ' in line:
        m = re.search(r'make ((?:\S+=\S+ )*)install((?: \S+=\S+)*)', line)
        if m:
            print(' '.join(w for w in (m.group(1) + m.group(2)).split()
                           if not w.startswith(('DESTDIR=', 'O='))))
            break
PY
vars=$(cat "$LIB_TMP/vars")
like "$vars" 'PREFIX=' "the Dockerfile installs with make install $vars"
STAGE=$LIB_TMP/stage
# $vars is a list of words on purpose.
# shellcheck disable=SC2086
env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS timeout "$(lib_scale 120)" \
    make -s -C "$TOP" -o all O="$STAMP_BUILD" install DESTDIR="$STAGE" \
    $vars > "$LIB_TMP/make.log" 2>&1
ok $? "make install DESTDIR=<temporary> $vars" || diag_file "$LIB_TMP/make.log"

# The checks in python print "ok TEXT", "not ok TEXT" and "# TEXT" lines;
# they leave the image's CMD and HEALTHCHECK command, a word a line, in
# files for the shell to run.
"$PY" - "$TOP" "$STAGE" "$LIB_TMP" > "$LIB_TMP/checks" 2>&1 <<'PY'
import json, os, re, shlex, signal, sys
import yaml
import kubernetes.client as k8s

top, stage, tmp = sys.argv[1:4]
dockerfile = os.path.join(top, 'contrib/docker/Dockerfile')
manifest = os.path.join(top, 'contrib/k8s/stampd.yaml')


def check(cond, text, why=()):
    print(('ok ' if cond else 'not ok ') + text)
    if not cond:
        for w in why:
            print('# ' + w)
    return cond


# ---- the Dockerfile -------------------------------------------------------

INSTRUCTIONS = {'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE',
                'FROM', 'HEALTHCHECK', 'LABEL', 'MAINTAINER', 'ONBUILD',
                'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'}
IMAGE = r'[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*'
IMAGE = r'(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?' + IMAGE + \
    r'(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?'
DURATION = r'[0-9]+(?:\.[0-9]+)?(?:ns|us|ms|s|m|h)'


def instructions(path):
    """(line number, KEYWORD, rest) of each instruction, continuations
    joined, comments and blank lines dropped."""
    out, buf, start = [], '', 0
    for n, raw in enumerate(open(path), 1):
        line = raw.rstrip('\n')
        if not buf and (not line.strip() or line.lstrip().startswith('#')):
            continue
        if buf and line.lstrip().startswith('#'):
            continue  # comments may sit inside a continued instruction
        if not buf:
            start = n
        if line.endswith('\\'):
            buf += line[:-1] + ' '
            continue
        buf += line
        word, _, rest = buf.strip().partition(' ')
        out.append((start, word, rest.strip()))
        buf = ''
    if buf:
        out.append((start, None, 'the file ends inside a continuation'))
    return out


def exec_form(rest):
    """The JSON array of an exec-form argument, or None."""
    if not rest.startswith('['):
        return None
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    if isinstance(v, list) and v and all(isinstance(s, str) for s in v):
        return v
    return None


errors = []
build_args = {}      # ARG defaults before the first FROM
stages = []          # names (or None) of the stages so far
final = {}           # what the last stage says
copied = {}          # the final stage's destination paths -> source
ins = instructions(dockerfile)
if not ins or ins[0][1] not in ('FROM', 'ARG'):
    errors.append('the first instruction must be FROM (or ARG)')
for n, word, rest in ins:
    where = 'line %d: ' % n
    if word is None:
        errors.append(where + rest)
        continue
    if word != word.upper() or word not in INSTRUCTIONS:
        errors.append(where + 'unknown instruction %s' % word)
        continue
    if not rest:
        errors.append(where + '%s needs arguments' % word)
        continue
    if word == 'ARG' and not stages:
        # An ARG before the first FROM may name the base: FROM ${BASE}
        # takes its default (make image passes another with --build-arg).
        name, _, val = rest.partition('=')
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', name):
            errors.append(where + 'ARG %s: not NAME[=default]' % rest)
        build_args[name] = val
        continue
    if word == 'FROM':
        rest = re.sub(r'\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_]\w*)',
                      lambda v: build_args.get(v.group(1) or v.group(2),
                                             v.group(0)),
                      rest)
        m = re.fullmatch(r'(?:--platform=\S+\s+)?(%s)(?:\s+[Aa][Ss]\s+'
                         r'([a-z][a-z0-9._-]*))?' % IMAGE, rest)
        if not m:
            errors.append(where + 'FROM %s: not image[:tag] [AS name]' % rest)
            continue
        stages.append(m.group(2))
        final = {'from': m.group(1)}
        copied = {}
    elif word in ('COPY', 'ADD'):
        args = shlex.split(rest)
        flags = [a for a in args if a.startswith('--')]
        paths = [a for a in args if not a.startswith('--')]
        src_stage = None
        for f in flags:
            name, _, val = f[2:].partition('=')
            if name not in ('from', 'chown', 'chmod', 'link'):
                errors.append(where + 'unknown flag %s' % f)
            if name == 'from':
                src_stage = val
                if val not in stages[:-1]:
                    errors.append(where + '--from=%s names no earlier '
                                  'stage' % val)
        if len(paths) < 2:
            errors.append(where + '%s needs a source and a destination'
                          % word)
            continue
        *srcs, dest = paths
        if len(srcs) > 1 and not dest.endswith('/'):
            errors.append(where + 'several sources need a destination '
                          'ending in /')
        for s in srcs:
            if src_stage is None:
                if not os.path.exists(os.path.join(top, s)):
                    errors.append(where + '%s is not in the build context'
                                  % s)
            else:
                final.setdefault('from_stage', []).append(s)
            target = dest + os.path.basename(s.rstrip('/')) \
                if dest.endswith('/') else dest
            copied[target] = (src_stage, s)
    elif word in ('CMD', 'ENTRYPOINT', 'RUN'):
        if rest.startswith('[') and exec_form(rest) is None:
            errors.append(where + '%s: not a JSON array of strings' % word)
        final[word] = exec_form(rest)
    elif word == 'HEALTHCHECK':
        m = re.fullmatch(r'((?:--(?:interval|timeout|start-period|'
                         r'start-interval)=%s\s+|--retries=[0-9]+\s+)*)'
                         r'CMD\s+(.*)' % DURATION, rest)
        if rest != 'NONE' and not m:
            errors.append(where + 'HEALTHCHECK [options] CMD command')
        elif m:
            if m.group(2).startswith('[') and exec_form(m.group(2)) is None:
                errors.append(where + 'HEALTHCHECK CMD: not a JSON array')
            final['HEALTHCHECK'] = exec_form(m.group(2))
    elif word == 'EXPOSE':
        for p in rest.split():
            if not re.fullmatch(r'[0-9]{1,5}(?:/(?:tcp|udp))?', p) or \
                    not 0 < int(p.split('/')[0]) < 65536:
                errors.append(where + 'EXPOSE %s: not PORT[/tcp|/udp]' % p)
        final['EXPOSE'] = {(int(p.split('/')[0]),
                            (p.split('/') + ['tcp'])[1].upper())
                           for p in rest.split()}
    elif word == 'USER':
        if not re.fullmatch(r'[a-z_][a-z0-9_-]*|[0-9]+'
                            r'(?::(?:[a-z_][a-z0-9_-]*|[0-9]+))?', rest):
            errors.append(where + 'USER %s: not user[:group]' % rest)
        final['USER'] = rest
    elif word == 'STOPSIGNAL':
        if rest not in signal.Signals.__members__ and \
                not rest.isdigit():
            errors.append(where + 'STOPSIGNAL %s: no such signal' % rest)
    elif word == 'WORKDIR':
        if not rest.startswith('/'):
            errors.append(where + 'WORKDIR %s: not absolute' % rest)

check(not errors, 'Dockerfile: %d instructions, each well formed' % len(ins),
      errors)

# What the final stage copies from the build stage, that make install made.
missing = []
for dest, (src_stage, src) in copied.items():
    if src_stage is not None:
        m = re.match(r'/stage(/.*)', src)
        if not m or not os.path.isfile(stage + m.group(1)):
            missing.append('%s (for %s) is not what make install made'
                           % (src, dest))
check(copied and not missing,
      'Dockerfile: make install made all it copies: ' +
      ' '.join(sorted(copied)), missing)

ep, cmd, hc = final.get('ENTRYPOINT'), final.get('CMD'), \
    final.get('HEALTHCHECK')
check(ep and ep[0] in copied, 'Dockerfile: ENTRYPOINT %s is in the image'
      % (ep and ep[0]), ['ENTRYPOINT must be an exec form of a copied file'])
check(hc and hc[0] in copied, 'Dockerfile: HEALTHCHECK runs %s, in the image'
      % (hc and hc[0]), ['HEALTHCHECK CMD must run a copied file'])
user = final.get('USER', 'root')
check(re.fullmatch(r'[1-9][0-9]*(:[0-9]+)?', user) is not None,
      'Dockerfile: USER %s, a numeric user that is not root' % user,
      ['a numeric USER lets runAsNonRoot be checked'])


def listeners(args):
    """(port, PROTOCOL) of each -l in args."""
    out = set()
    for i, a in enumerate(args or []):
        if a in ('-l', '--listen') and i + 1 < len(args):
            m = re.fullmatch(r'(tcp|udp):.*:([0-9]+)(?:/\w+)?', args[i + 1])
            if m:
                out.add((int(m.group(2)), m.group(1).upper()))
    return out


exposed = final.get('EXPOSE', set())
check(exposed and listeners(cmd) == exposed,
      'Dockerfile: EXPOSE %s is what CMD listens on'
      % ' '.join('%d/%s' % p for p in sorted(exposed)),
      ['CMD listens on %s' % sorted(listeners(cmd))])


def loopback(args):
    """args with every listener moved to 127.0.0.1 and port 0."""
    return [re.sub(r'^(tcp|udp):.*:[0-9]+', r'\1:127.0.0.1:0', a)
            for a in args]


with open(os.path.join(tmp, 'cmd'), 'w') as f:
    f.write('\n'.join(loopback(cmd or [])) + '\n')
with open(os.path.join(tmp, 'health'), 'w') as f:
    f.write('\n'.join((hc or [''])[1:]) + '\n')

# ---- the Kubernetes manifest -------------------------------------------------

try:
    docs = [d for d in yaml.safe_load_all(open(manifest)) if d is not None]
    parsed = True
except yaml.YAMLError as e:
    docs, parsed = [], False
    print('# %s' % e)
check(parsed, 'stampd.yaml: PyYAML parses it')
by_kind = {d.get('kind'): d for d in docs if isinstance(d, dict)}
check(sorted((d.get('apiVersion'), d.get('kind')) for d in docs) ==
      [('apps/v1', 'Deployment'), ('v1', 'Service')],
      'stampd.yaml: an apps/v1 Deployment and a v1 Service',
      [repr([(d.get('apiVersion'), d.get('kind')) for d in docs])])

MODELS = {('apps/v1', 'Deployment'): 'V1Deployment',
          ('v1', 'Service'): 'V1Service'}


def walk(v, typ, path, errs):
    """v against the python3-kubernetes type name typ."""
    if typ.startswith('list['):
        if not isinstance(v, list):
            return errs.append('%s: not a list' % path)
        for i, e in enumerate(v):
            walk(e, typ[5:-1], '%s[%d]' % (path, i), errs)
    elif typ.startswith('dict('):
        if not isinstance(v, dict):
            return errs.append('%s: not a map' % path)
        inner = typ[typ.index(',') + 1:-1].strip()
        for key, e in v.items():
            walk(e, inner, '%s.%s' % (path, key), errs)
    elif typ == 'str':
        if not isinstance(v, str):
            errs.append('%s: %r is not a string' % (path, v))
    elif typ == 'int':
        if not isinstance(v, int) or isinstance(v, bool):
            errs.append('%s: %r is not an integer' % (path, v))
    elif typ == 'bool':
        if not isinstance(v, bool):
            errs.append('%s: %r is not true or false' % (path, v))
    elif typ == 'object':
        # IntOrString and Quantity: checked below where used.
        if not isinstance(v, (str, int)) or isinstance(v, bool):
            errs.append('%s: %r is neither a number nor a string'
                        % (path, v))
    else:
        cls = getattr(k8s, typ)
        if not isinstance(v, dict):
            return errs.append('%s: not an object (%s)' % (path, typ))
        fields = {json_name: attr
                  for attr, json_name in cls.attribute_map.items()}
        for key, e in v.items():
            if key not in fields:
                errs.append('%s.%s: no such field in %s' % (path, key, typ))
            else:
                walk(e, cls.openapi_types[fields[key]],
                     '%s.%s' % (path, key), errs)


for d in docs:
    model = MODELS.get((d.get('apiVersion'), d.get('kind')))
    if model is None:
        continue
    errs = []
    walk(d, model, d['kind'], errs)
    check(not errs, 'stampd.yaml: every field of the %s is one the API '
          'has, of its type (%s)' % (d['kind'], model), errs)
    try:
        # The models' own validation: required fields, enumerations.
        k8s.ApiClient()._ApiClient__deserialize(d, model)
        errs = []
    except (ValueError, TypeError) as e:
        errs = [str(e)]
    check(not errs, 'stampd.yaml: the %s has every required field' %
          d['kind'], errs)

DNS1123 = r'[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?'
DNS1035 = r'[a-z]([-a-z0-9]{0,61}[a-z0-9])?'


def svc_name(s):
    """IANA_SVC_NAME, as Kubernetes wants port names."""
    return isinstance(s, str) and len(s) <= 15 and \
        re.fullmatch(r'[a-z0-9]+(-[a-z0-9]+)*', s) is not None and \
        re.search('[a-z]', s) is not None


dep, svc = by_kind.get('Deployment', {}), by_kind.get('Service', {})
try:
    pod = dep['spec']['template']
    labels = pod['metadata']['labels']
    ctr = pod['spec']['containers'][0]
    cports = ctr.get('ports', [])
    sspec = svc['spec']
    complete = True
except (KeyError, IndexError, TypeError):
    complete = False
check(complete, 'stampd.yaml: a pod template with a container, and a '
      'Service spec')
if complete:
    errs = []
    if not re.fullmatch(DNS1123, dep['metadata']['name']):
        errs.append('Deployment name is not a DNS-1123 label')
    if not re.fullmatch(DNS1035, svc['metadata']['name']):
        errs.append('Service name is not a DNS-1035 label')
    if not re.fullmatch(DNS1123, ctr['name']):
        errs.append('container name is not a DNS-1123 label')
    check(not errs, 'stampd.yaml: the names are DNS labels', errs)

    sel = dep['spec']['selector'].get('matchLabels', {})
    check(sel and sel.items() <= labels.items(),
          "stampd.yaml: the Deployment's selector matches its pods",
          ['%r is not in %r' % (sel, labels)])
    check(sspec.get('selector') and
          sspec['selector'].items() <= labels.items(),
          "stampd.yaml: the Service's selector matches the pods",
          ['%r is not in %r' % (sspec.get('selector'), labels)])

    errs = []
    names = [p.get('name') for p in cports]
    for p in cports:
        if not svc_name(p.get('name')):
            errs.append('port name %r is not an IANA_SVC_NAME' % p.get('name'))
        if not isinstance(p.get('containerPort'), int) or \
                not 0 < p['containerPort'] < 65536:
            errs.append('containerPort %r' % p.get('containerPort'))
    if len(set(names)) != len(names):
        errs.append('port names repeat')
    pairs = [(p.get('containerPort'), p.get('protocol', 'TCP'))
             for p in cports]
    if len(set(pairs)) != len(pairs):
        errs.append('a port and protocol repeat')
    check(not errs, "stampd.yaml: the container's ports: %s" %
          ' '.join('%s=%s/%s' % (p.get('name'), p.get('containerPort'),
                                 p.get('protocol', 'TCP')) for p in cports),
          errs)
    check(set(pairs) == exposed,
          "stampd.yaml: the container's ports are the image's EXPOSE",
          ['%r against %r' % (sorted(pairs), sorted(exposed))])

    errs = []
    sports = sspec.get('ports', [])
    if len(sports) > 1 and (None in [p.get('name') for p in sports] or
                            len({p.get('name') for p in sports}) !=
                            len(sports)):
        errs.append('a Service of several ports must name each, uniquely')
    for p in sports:
        proto = p.get('protocol', 'TCP')
        if not isinstance(p.get('port'), int) or \
                not 0 < p['port'] < 65536:
            errs.append('port %r' % p.get('port'))
        t = p.get('targetPort', p.get('port'))
        hit = [c for c in cports if c.get('protocol', 'TCP') == proto and
               (c.get('name') == t or c.get('containerPort') == t)]
        if not hit:
            errs.append('targetPort %r/%s is no container port' % (t, proto))
    check(sports and not errs, 'stampd.yaml: each Service port reaches a '
          'container port of its protocol', errs)
    check({p.get('protocol', 'TCP') for p in sports} == {'TCP', 'UDP'},
          'stampd.yaml: the Service carries TCP and UDP')
    # Per-source limits need the sources: Cluster would SNAT every outside
    # client to a node's address (docs/deploy.md, behind NAT).
    check(sspec.get('type') in ('NodePort', 'LoadBalancer') and
          sspec.get('externalTrafficPolicy') == 'Local',
          "stampd.yaml: the Service keeps clients' addresses "
          "(externalTrafficPolicy: Local on a %s)" % sspec.get('type'))

    errs = []
    for kind in ('readinessProbe', 'livenessProbe'):
        probe = ctr.get(kind)
        if probe is None:
            errs.append('no %s' % kind)
        elif 'tcpSocket' in probe and probe['tcpSocket']['port'] not in \
                [c.get('name') for c in cports
                 if c.get('protocol', 'TCP') == 'TCP'] + \
                [c.get('containerPort') for c in cports]:
            errs.append('%s: no TCP port %r' % (kind, probe['tcpSocket']))
        elif 'exec' in probe and probe['exec']['command'] != hc:
            errs.append('%s runs %r, the image HEALTHCHECK %r'
                        % (kind, probe['exec']['command'], hc))
    check(not errs, "stampd.yaml: the probes use the container's TCP port "
          "and the image's HEALTHCHECK", errs)

    uid = int(user.split(':')[0]) if user[:1].isdigit() else None
    sc = pod['spec'].get('securityContext', {})
    csc = ctr.get('securityContext', {})
    check(sc.get('runAsNonRoot') is True and sc.get('runAsUser') == uid and
          csc.get('allowPrivilegeEscalation') is False and
          csc.get('readOnlyRootFilesystem') is True and
          csc.get('capabilities', {}).get('drop') == ['ALL'],
          'stampd.yaml: runs as %s, the image USER, non-root, no '
          'privilege, read-only' % uid)
    args = ctr.get('args', cmd)
    check(listeners(args) == exposed,
          "stampd.yaml: the container's args listen on the ports it opens",
          ['%r' % sorted(listeners(args))])
    with open(os.path.join(tmp, 'k8s-args'), 'w') as f:
        f.write('\n'.join(loopback(args or [])) + '\n')
PY
ok $? "the python checks ran to the end" || diag_file "$LIB_TMP/checks"
while IFS= read -r l; do
	case $l in
	'ok '*)		ok 0 "${l#ok }" ;;
	'not ok '*)	ok 1 "${l#not ok }" ;;
	'# '*)		diag "${l#\# }" ;;
	esac
done < "$LIB_TMP/checks"

# run_args WHAT FILE: stampd with the arguments in FILE, a word a line,
# serves, and the HEALTHCHECK command asks its TCP listener.
run_args()
{
	local what="$1" file="$2" port

	[ -s "$file" ] || {
		ok 1 "$what: no arguments to run"
		return
	}
	set --
	while IFS= read -r w; do
		set -- "$@" "$w"
	done < "$file"
	stampd_start "$@"
	ok $? "$what: stampd $* serves" || return
	port=$(stampd_port tcp 127.0.0.1 stamp)
	set --
	while IFS= read -r w; do
		set -- "$@" "$w"
	done < "$LIB_TMP/health"
	out=$(lib_timeout 10 "$STAMP" "$@" "$port" 2>&1)
	ok $? "$what: HEALTHCHECK's stamp $* $port exits 0" ||
	    diag "$out"
	note "stamp $* $port: $out"
	stampd_stop
	is $? 0 "$what: stampd exits 0 on TERM"
}

run_args "the image's CMD, on loopback" "$LIB_TMP/cmd"
run_args "the Deployment's args, on loopback" "$LIB_TMP/k8s-args"

done_testing
