#!/usr/bin/env python3
"""serve_client.py - the HTTP clients test_serve.sh needs against kiln serve,
good and bad. Every wait is bounded by a count of tries, every socket has a
timeout; prints what it saw and exits 0, or 1 when the check failed.

  free_port                     a free loopback port
  wait_port PORT TRIES          until PORT accepts (TRIES x 0.1 s)
  get PORT PATH [OUT]           GET PATH: prints the status, body to OUT
  metric PORT NAME PID          the value of NAME{pid="PID"} in /metrics ("" when absent;
                                an empty PID: of NAME without labels)
  malformed PORT                garbage -> prints the status line
  huge PORT                     a 1 MiB header -> prints the status line, or "closed"
  slow_then_fast PORT           one client sends half a request and stalls; another
                                is answered meanwhile -> "fast 200" and the slow one still open
  flood PORT N                  N clients at once -> counts of the statuses seen
"""
import socket
import sys
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(port, timeout=20):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_all(s):
    data = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def request(port, raw, timeout=20):
    s = connect(port, timeout)
    try:
        s.sendall(raw)
    except (BrokenPipeError, ConnectionResetError):
        pass
    data = read_all(s)
    s.close()
    return data


def status_of(data):
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return parts[1] if len(parts) > 1 and line.startswith("HTTP/1.1 ") else "none"


def get(port, path, timeout=60):
    data = request(port, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", timeout)
    head, _, body = data.partition(b"\r\n\r\n")
    return status_of(data), body


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "free_port":
        print(free_port())
    elif cmd == "wait_port":
        port, tries = int(args[0]), int(args[1])
        for _ in range(tries):
            try:
                connect(port, 1).close()
                return 0
            except OSError:
                time.sleep(0.1)
        return 1
    elif cmd == "get":
        st, body = get(int(args[0]), args[1])
        if len(args) > 2:
            open(args[2], "wb").write(body)
        print(st)
    elif cmd == "metric":
        st, body = get(int(args[0]), "/metrics")
        # an empty PID: the metric without labels
        want = args[1] + "{pid=\"" + args[2] + "\"" if len(args) > 2 and args[2] else args[1] + " "
        for line in body.decode().splitlines():
            if line.startswith(want):
                print(line.rsplit(" ", 1)[1])
                return 0
        print("")
    elif cmd == "malformed":
        print(status_of(request(int(args[0]), b"\x16\x03\x01 NOT HTTP AT ALL\r\n\r\n")))
    elif cmd == "huge":
        data = request(int(args[0]), b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
        print(status_of(data) if data else "closed")
    elif cmd == "slow_then_fast":
        port = int(args[0])
        slow = connect(port)
        slow.sendall(b"GET /metrics HTTP/1.1\r\nHos")
        st, _ = get(port, "/metrics", 20)
        # the slow one has had no answer: it is still waiting, not served
        slow.setblocking(False)
        try:
            early = slow.recv(100)
        except BlockingIOError:
            early = b""
        slow.close()
        print("fast", st, "slow", "answered" if early else "waiting")
    elif cmd == "flood":
        port, n = int(args[0]), int(args[1])
        seen = {}
        lock = threading.Lock()

        def one():
            try:
                st, _ = get(port, "/metrics", 30)
            except OSError as e:
                st = type(e).__name__
            with lock:
                seen[st] = seen.get(st, 0) + 1

        threads = [threading.Thread(target=one) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print(" ".join("%s=%d" % kv for kv in sorted(seen.items())))
    else:
        print("unknown command " + cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
