#!/usr/bin/env python3
"""The timing half of bench/failover_scale.sh: one program per namespace role.

  failover_scale.py traffic DEST COUNT     (vm namespace) COUNT new UDP
      connections to DEST at once (the conntrack load), then one new UDP
      connection every 10 ms until killed.
  failover_scale.py cut FALLBACK_IF FALLBACK_SOURCE MONITOR_PID CUT_NFT
      (isp namespace) cuts an ISP (loads CUT_NFT: everything through its
      interface dropped, the link stays up), then watches FALLBACK_IF for
      the first echo request (the running ping) and the first UDP datagram (a
      new connection) from FALLBACK_SOURCE, counting MONITOR_PID's child
      processes meanwhile. Prints `flow_ms new_ms max_helpers`.

One clock for the cut and the arrivals (CLOCK_MONOTONIC, in one process), read
from AF_PACKET sockets, which see a packet as it arrives.
"""

import os
import socket
import subprocess
import sys
import time

ETH_P_ALL = 0x0003
GIVE_UP_S = 10.0


def traffic(dest, count):
    bulk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(count):
        # Distinct destination ports (and, past 60000, a second source port):
        # one conntrack entry each.
        if i == 60000:
            bulk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bulk.sendto(b"x", (dest, 1024 + i % 60000))
    print("sent", flush=True)
    while True:
        fresh = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fresh.sendto(b"new", (dest, 9))
        fresh.close()
        time.sleep(0.01)


def helpers(pid):
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == str(pid):
            count += 1
    return count


def cut(fallback_if, fallback_source, monitor_pid, cut_nft):
    source = socket.inet_aton(fallback_source)
    watch = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    watch.bind((fallback_if, 0))
    watch.setblocking(False)
    subprocess.run(["nft", "-f", cut_nft], check=True)
    start = time.monotonic()
    flow = new = None
    most = 0
    last_count = 0.0
    while (flow is None or new is None) and time.monotonic() - start < GIVE_UP_S:
        now = time.monotonic()
        if now - last_count >= 0.005:
            most = max(most, helpers(monitor_pid))
            last_count = now
        try:
            frame = watch.recv(2048)
        except BlockingIOError:
            time.sleep(0.001)
            continue
        ip = frame[14:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[12:16] != source:
            continue
        at = (time.monotonic() - start) * 1000
        header = (ip[0] & 0x0F) * 4
        if ip[9] == 1 and ip[header] == 8 and flow is None:
            flow = at
        elif ip[9] == 17 and new is None and ip[header + 2 : header + 4] == (9).to_bytes(2, "big"):
            new = at
    # Past the deletion too: a slow helper would still be counted.
    until = time.monotonic() + 0.5
    while time.monotonic() < until:
        most = max(most, helpers(monitor_pid))
        time.sleep(0.005)
    fmt = lambda v: "none" if v is None else f"{v:.0f}"
    print(fmt(flow), fmt(new), most)


if __name__ == "__main__":
    if sys.argv[1] == "traffic":
        traffic(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "cut":
        cut(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        sys.exit(f"usage: {sys.argv[0]} traffic|cut ...")
