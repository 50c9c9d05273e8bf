#!/usr/bin/env python3
"""Adversarial topologies for docs/fuzzing.md's limits table: writes each case to
DIR, then runs `switchyard check` and `switchyard build` on it under GNU time and
prints exit code, wall time and peak RSS.

    cargo build --release
    python3 fuzz/limits.py /tmp/limits target/release/switchyard
"""
import ipaddress
import os
import subprocess
import sys

# The base fixture the Rust tests share: its uplinks, pools and host are the
# header every case starts from; its project and VM are ONE_VM.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "base.toml")) as f:
    HEAD, _, ONE_VM = f.read().partition("[projects.")
ONE_VM = "[projects." + ONE_VM


def head(a="198.51.100.0/24", b="203.0.113.0/24"):
    return HEAD.replace('"198.51.100.0/24"', '"%s"' % a).replace('"203.0.113.0/24"', '"%s"' % b)


def ip(n):
    return str(ipaddress.IPv4Address(n))


def at(base, n):
    return ip(int(ipaddress.IPv4Address(base)) + n)


CGNAT = int(ipaddress.IPv4Address("100.64.0.0"))


def cases():
    """(name, text) of every case."""
    yield "pool0-invalid", head("0.0.0.0/0") + ONE_VM
    yield "pool0-valid", head("0.0.0.0/0").replace(
        '[pools.pool-b]\nuplink = "isp-b"\nprefix = "203.0.113.0/24"\n', "") + \
        '\n[projects.acme]\npools = ["pool-a"]\naddresses = ["0.0.0.1", "255.255.255.254"]\n'
    n = 10**6
    lists = ['{ to = [%s], via = "pool-%s" },\n' % (
        ", ".join('"%s/32"' % ip(CGNAT + 2 * k + odd) for k in range(n // 2)), "ab"[odd])
        for odd in (0, 1)]
    yield "egress-1m-one-vm", head() + ONE_VM + "egress = [\n" + "".join(lists) + "]\n"
    entries, size, k = [], 0, 0
    while True:
        entry = '{ to = "%s/32", via = "pool-%s" },\n' % (ip(CGNAT + k), "ab"[k % 2])
        if size + len(entry) > 31 * 1024 * 1024:
            break
        entries.append(entry)
        size += len(entry)
        k += 1
    yield "egress-%dk-entries-one-vm" % (k // 1000), head() + ONE_VM + "egress = [\n" + "".join(entries) + "]\n"

    def vms(count, extra=""):
        return "".join(
            '[vms.vm-%07d]\nproject = "acme"\nhost = "net1"\naddress = "%s"\npublic = ["%s", "%s"]\n%s'
            % (i, ip((10 << 24) + i + 2), at("44.0.0.0", i + 1), at("45.0.0.0", i + 1), extra)
            for i in range(count))

    def project(count, extra=""):
        addresses = ", ".join('"%s", "%s"' % (at("44.0.0.0", i + 1), at("45.0.0.0", i + 1))
                              for i in range(count))
        return ('\n[projects.acme]\npools = ["pool-a", "pool-b"]\naddresses = [%s]\n'
                'networks = ["10.0.0.0/8"]\ndefault = "pool-a"\n%s\n' % (addresses, extra))

    chain = "egress = [%s]\n" % ", ".join(
        '{ to = "%s", via = "pool-%s" }' % (
            ipaddress.IPv4Network(("200.1.2.3", length), strict=False), "ab"[length % 2])
        for length in range(1, 33))
    pools = head("44.0.0.0/14", "45.0.0.0/14")
    yield "nested-20k-vms-x-32-levels", pools + project(20000) + vms(20000, chain)
    yield "150k-vms-one-host", pools + project(150000) + vms(150000)
    for entries, count in [(1000, 1000), (1990, 1000), (3000, 3000)]:
        egress = "egress = [%s]" % ", ".join(
            '{ to = "%s/32", via = "pool-%s" }' % (ip(CGNAT + 2 * k), "ab"[k % 2])
            for k in range(entries))
        yield "project-%d-entries-x-%d-vms" % (entries, count), pools + project(count, egress) + vms(count)
    yield "20k-hosts-x-20k-networks", head() + "".join("[hosts.h%d]\n" % i for i in range(20000)) + \
        '[projects.acme]\nnetworks = [%s]\n' % ", ".join('"%s/32"' % ip((11 << 24) + 2 * i) for i in range(20000))
    yield "200k-pools", 'version = 1\n[uplinks.u]\nid = 1\n' + "".join(
        '[pools.p%d]\nuplink = "u"\nprefix = "%s/32"\n' % (i, at("44.0.0.0", i)) for i in range(200000))
    count = 800000
    yield "acl-800k-x-800k-addresses", head("44.0.0.0/8") + '[projects.acme]\npools = [%s]\naddresses = [%s]\n' % (
        ", ".join(['"pool-a"'] * count), ", ".join('"%s"' % at("44.0.0.0", i + 1) for i in range(count)))
    many = "".join('[pools.p%d]\nuplink = "isp-a"\nprefix = "%s/16"\n' % (i, at("40.0.0.0", i << 16)) for i in range(253))
    count = 1000000
    yield "quota-253-pools-x-1m-addresses", head("1.0.0.0/24", "2.0.0.0/24") + many + \
        '[projects.acme]\npools = [%s]\nquota = { %s }\naddresses = [%s]\n' % (
            ", ".join('"p%d"' % i for i in range(253)), ", ".join("p%d = 5000" % i for i in range(253)),
            ", ".join('"%s"' % at("40.0.0.0", ((i % 253) << 16) + i // 253 + 1) for i in range(count)))
    count = 600000
    yield "vm-600k-public-addresses", head("44.0.0.0/8") + \
        '[projects.acme]\npools = ["pool-a"]\naddresses = ["44.0.0.1"]\n[vms.v]\nproject = "acme"\nhost = "net1"\n' \
        'address = "10.0.0.5"\npublic = [%s]\negress = [%s]\n' % (
            ", ".join('"%s"' % at("44.0.0.0", i + 1) for i in range(count)),
            ", ".join('{ to = "%s/32", via = "%s" }' % (ip(CGNAT + i), at("44.0.0.0", count + i + 1))
                      for i in range(count // 2)))
    yield "1m-networks-x-150k-vms", head("44.0.0.0/14") + '[projects.acme]\npools = ["pool-a"]\nnetworks = [%s]\n' % \
        ", ".join('"%s/32"' % ip((11 << 24) + i) for i in range(1000000)) + "".join(
            '[vms.v%d]\nproject = "acme"\nhost = "net1"\naddress = "%s"\n' % (i, ip((10 << 24) + i + 1))
            for i in range(150000))
    yield "200k-unknown-refs-x-100k-names", head() + "".join("[projects.project-%06d]\n" % i for i in range(100000)) + \
        "".join('[vms.v%d]\nproject = "prxject-%06d"\nhost = "net1"\naddress = "10.0.0.1"\n' % (i, i)
                for i in range(200000))
    yield "900k-diagnostics", "version = 1\n" + "".join(
        '[vms.v%d]\nproject = "p"\nhost = "h"\naddress = "10.0.0.1"\n' % i for i in range(300000))


def main():
    out, binary = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    print("| case | size | command | exit | wall | peak RSS |\n|---|---|---|---|---|---|")
    for name, text in cases():
        path = os.path.join(out, name + ".toml")
        with open(path, "w") as f:
            f.write(text)
        for command in (["check", path], ["build", path, "-o", os.path.join(out, "out-" + name)]):
            result = subprocess.run(
                ["/usr/bin/time", "-f", "%x %e %M", "timeout", "300", binary] + command,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            code, wall, rss = result.stderr.strip().splitlines()[-1].split()
            print("| %s | %.1f MB | %s | %s | %s s | %d MB |" % (
                name, len(text) / 1e6, command[0], code, wall, int(rss) // 1024), flush=True)


if __name__ == "__main__":
    main()
