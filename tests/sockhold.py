#!/usr/bin/python3
"""sockhold.py: hold listening sockets and run a daemon on them, as systemd
does with a socket unit, so that restarting the daemon refuses no client.

    sockhold.py [-t ADDR]... [-u ADDR]... [-n NAME] -- PROGRAM [ARG]...

Binds a TCP listener (backlog 4096) for each -t and a UDP socket for each
-u, every one on port 0, and prints "tcp ADDR:PORT" / "udp ADDR:PORT" once
bound.  Then runs PROGRAM with the sockets at fd 3 onwards and LISTEN_FDS,
LISTEN_PID (the child's own pid, set between fork and exec, as only the
child knows it) and LISTEN_FDNAMES (NAME for each, "stamp" unless given),
as systemd(1) passes them.  The sockets stay open here all along: what
arrives while no child runs waits in their queues.

    SIGHUP   restart, as "systemctl restart" does: SIGTERM to the child by
             its pid, wait for it (at most 30 s, then SIGKILL), start a new
             one; says "restart N: exited S, pid P started".
    SIGTERM  stop the child the same way and exit with its status.

A child that exits unasked ends this program with status 1, saying so.
Only loopback addresses are for tests; nothing here picks a port.
"""
import os
import signal
import socket
import sys
import time

STOP_WAIT = 30.0


def say(*words):
    print(*words, flush=True)


def bind(kind, addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, kind)
    if kind == socket.SOCK_STREAM:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, 0))
    if kind == socket.SOCK_STREAM:
        s.listen(4096)
    return s


def start(socks, name, argv):
    pid = os.fork()
    if pid != 0:
        return pid
    try:
        # Out of the way first: a socket may sit where another must go.
        high = [os.dup(s.fileno()) for s in socks]
        for i, fd in enumerate(high):
            os.dup2(fd, 3 + i, inheritable=True)
        env = dict(os.environ)
        env["LISTEN_FDS"] = str(len(socks))
        env["LISTEN_PID"] = str(os.getpid())
        env["LISTEN_FDNAMES"] = ":".join([name] * len(socks))
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execve(argv[0], argv, env)
    except OSError as e:
        print("sockhold: exec %s: %s" % (argv[0], e.strerror),
              file=sys.stderr, flush=True)
    os._exit(127)


def status(st):
    if os.WIFSIGNALED(st):
        return 128 + os.WTERMSIG(st)
    return os.WEXITSTATUS(st)


def stop(pid):
    """SIGTERM to pid, then SIGKILL after STOP_WAIT; its exit status."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    while time.monotonic() < deadline:
        got, st = os.waitpid(pid, os.WNOHANG)
        if got == pid:
            return status(st)
        time.sleep(0.005)
    os.kill(pid, signal.SIGKILL)
    return status(os.waitpid(pid, 0)[1])


def main():
    args = sys.argv[1:]
    tcp, udp, name = [], [], "stamp"
    while args and args[0] != "--":
        if len(args) < 2 or args[0] not in ("-t", "-u", "-n"):
            print(__doc__, file=sys.stderr)
            return 2
        {"-t": tcp, "-u": udp}.get(args[0], []).append(args[1])
        if args[0] == "-n":
            name = args[1]
        args = args[2:]
    argv = args[1:]
    if not argv or not (tcp or udp):
        print(__doc__, file=sys.stderr)
        return 2
    wanted = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
    signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
    socks = [bind(socket.SOCK_STREAM, a) for a in tcp]
    socks += [bind(socket.SOCK_DGRAM, a) for a in udp]
    for s in socks:
        kind = "tcp" if s.type == socket.SOCK_STREAM else "udp"
        host, port = s.getsockname()[:2]
        say("%s %s:%d" % (kind, host if ":" not in host else
                          "[%s]" % host, port))
    pid = start(socks, name, argv)
    say("started pid %d" % pid)
    n = 0
    while True:
        sig = signal.sigwaitinfo(wanted).si_signo
        if sig == signal.SIGCHLD:
            got, st = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                say("pid %d exited %d unasked" % (pid, status(st)))
                return 1
        elif sig == signal.SIGHUP:
            n += 1
            st = stop(pid)
            pid = start(socks, name, argv)
            say("restart %d: exited %d, pid %d started" % (n, st, pid))
        else:
            st = stop(pid)
            say("stopped: exited %d" % st)
            return st


if __name__ == "__main__":
    sys.exit(main())
