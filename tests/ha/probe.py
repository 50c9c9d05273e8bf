#!/usr/bin/env python3
"""Bounded TCP traffic for the pair rig (tests/ha.rs), at most ~100 packets/s.

far  PORT LOG VM_PUBLIC VM_PORT SOURCE  (far end) echo server on PORT; also
                                      connects from SOURCE to VM_PUBLIC:VM_PORT (the
                                      inbound connection) and echoes what it gets.
vm   PORT LOG FAR FAR_PORT            (VM) server on PORT pushing a tick every
                                      100 ms to whoever connects (the inbound
                                      connection); a connection to FAR:FAR_PORT
                                      pushing ticks (outbound); a new connection
                                      to FAR:FAR_PORT every 100 ms (handshake, reset).
The VM side sends first in both long connections: after a takeover its packet
is the first the new active member sees, so without the synchronised entry it
would be classified as a new outbound connection (the failure under test).
About 30 packets/s per long connection, 40 for the new ones.
LOG gets one line per event: "<unix time> <stream> <event>", stream one of
in, out, new (VM) or far-in (far end); event ok (an echo of a tick came back,
or a handshake completed), up, closed:<why>, fail:<why>.
"""
import socket, struct, sys, threading, time

TICK = 0.1

def log_to(path):
    f = open(path, "a", buffering=1)
    lock = threading.Lock()
    def log(stream, event):
        with lock:
            f.write(f"{time.time():.3f} {stream} {event}\n")
    return log

def echo(conn):
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    finally:
        conn.close()

def serve_echo(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=echo, args=(conn,), daemon=True).start()

def connect_once(address, stream, log, **options):
    """The one long connection of `stream`, retried until the other end listens;
    never re-made once it broke (that would hide the break)."""
    while True:
        try:
            conn = socket.create_connection(address, timeout=2, **options)
            conn.settimeout(None)
            return conn
        except OSError as e:
            log(stream, f"fail:{e.errno}")
            time.sleep(0.2)

def push(conn, stream, log):
    """Sends a numbered tick every TICK, logs each echo that comes back."""
    conn.settimeout(None)
    log(stream, "up")
    def reader():
        buf = b""
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    log(stream, "closed:eof")
                    return
                buf += data
                while b"\n" in buf:
                    _, buf = buf.split(b"\n", 1)
                    log(stream, "ok")
        except OSError as e:
            log(stream, f"closed:{e.errno}")
    threading.Thread(target=reader, daemon=True).start()
    n = 0
    try:
        while True:
            conn.sendall(b"%d\n" % n)
            n += 1
            time.sleep(TICK)
    except OSError as e:
        log(stream, f"closed:{e.errno}")

def far(port, log, vm_public, vm_port, source):
    threading.Thread(target=serve_echo, args=(port,), daemon=True).start()
    c = connect_once((vm_public, vm_port), "far-in", log, source_address=(source, 0))
    log("far-in", "up")
    echo(c)
    log("far-in", "closed")
    threading.Event().wait()  # the echo server keeps serving

def vm(port, log, far_addr, far_port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4)
    def accept():
        while True:
            conn, _ = s.accept()
            threading.Thread(target=push, args=(conn, "in", log), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    def outbound():
        push(connect_once((far_addr, far_port), "out", log), "out", log)
    threading.Thread(target=outbound, daemon=True).start()
    while True:
        start = time.time()
        try:
            # The handshake through both members' NAT is the proof; closed with
            # a reset (no linger) to keep it at four packets.
            c = socket.create_connection((far_addr, far_port), timeout=0.5)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            log("new", "ok")
        except OSError as e:
            log("new", f"fail:{e.errno}")
        time.sleep(max(0, TICK - (time.time() - start)))

if __name__ == "__main__":
    mode, port, path, addr, other = sys.argv[1:6]
    log = log_to(path)
    {"far": far, "vm": vm}[mode](int(port), log, addr, int(other), *sys.argv[6:])
