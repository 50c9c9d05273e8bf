#!/usr/bin/env bash
# Failover at scale (docs/performance.md, "Failover at 100k VMs"): the synthetic
# topology of --vms VMs on one host (examples/synth.rs) with [failover] added and
# every project's default made a list of its pools, built and loaded into a
# namespace rig
#
#   vm ──veth── host ──veth (one per uplink)── isp
#
# with `switchyard monitor` running in `host`. The `vm` namespace holds one VM
# address (the first VM, from the middle of the host's VMs, whose default has a
# fallback on another uplink), which keeps a ping running to the isp, opens
# --entries UDP connections at once (the conntrack table the monitor must sift:
# all of them bound to the uplink that dies, all movable) and then a new UDP
# connection every 10 ms. Each of --cuts rounds cuts the VM's uplink at the isp
# (everything through it dropped; its link stays up) and measures, from one
# clock in the isp namespace, when
#   - the running ping first arrives by the fallback (goal 1.5 s),
#   - a new connection first arrives by the fallback (goal 1 s),
# and the most child processes the monitor had meanwhile (goal: a handful);
# then restores the ISP and waits for the monitor to bring it back.
#
#   sudo bench/failover_scale.sh [--vms 100000] [--entries 100000] [--cuts 5]
#                                [--profile release] [--out DIR]
#
# Exit status: 0 when every goal was met in every round, 1 when one was missed
# (MISSED) or the rig failed, 2 on usage errors.
set -euo pipefail

vms=100000
entries=100000
cuts=5
profile=release
out=""
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--vms N] [--entries N] [--cuts N] [--profile P] [--out DIR]" \
	"vms entries cuts profile out" "$@"
bench_needs failover_scale.sh --root nft ip ping conntrack python3

bench_build "$profile" --bin switchyard --example synth
switchyard="$bindir/switchyard"
timing="$(cd "$(dirname "$0")" && pwd)/failover_scale.py"
if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-failover-scale.XXXXXX)"; fi
mkdir -p "$out"

prefix="syfo$$"
vm_ns="$prefix-vm"
host_ns="$prefix-host"
isp_ns="$prefix-isp"
pids=()
teardown() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for ns in "$vm_ns" "$host_ns" "$isp_ns"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap teardown EXIT
DESTINATION=203.0.113.10

echo "# $(date -u +%Y-%m-%d) on $(nproc) cores, kernel $(uname -r), profile $profile, load $(cut -d' ' -f1-3 /proc/loadavg)"

# The topology: [failover] with its defaults, and each project's default a list
# of the project's pools, its own default first.
"$bindir/examples/synth" --vms "$vms" --hosts 1 --seed 1 | awk '
	NR == 1 { print; next }
	/^version = / { print; print "\n[failover]"; next }
	/^\[/ { project = ($0 ~ /^\[projects\./) }
	project && /^pools = / { pools = $0; sub(/^pools = \[/, "", pools); sub(/\]$/, "", pools) }
	project && /^default = "/ {
		first = $3; n = split(pools, all, ", "); list = first
		for (i = 1; i <= n; i++) if (all[i] != first) list = list ", " all[i]
		print "default = [" list "]"; next
	}
	{ print }
' >"$out/topology.toml"
"$switchyard" build "$out/topology.toml" -o "$out/build" 2>"$out/build.stderr" || {
	cat "$out/build.stderr" >&2
	exit 1
}
nft_script="$out/build/net1/switchyard.nft"
ip_batch="$out/build/net1/switchyard.ip"

# The traffic VM: from the middle of the VMs, the first whose way to DESTINATION
# falls back to another uplink.
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
width=${#vms}
for ((i = vms / 2; i < vms; i++)); do
	vm=$(printf "vm-%0${width}d" "$i")
	first=$("$switchyard" trace "$out/topology.toml" --from "$vm" --to "$DESTINATION" --format json)
	uplink=$(field uplink <<<"$first")
	[ "$uplink" != None ] || continue
	fallback=$("$switchyard" trace "$out/topology.toml" --from "$vm" --to "$DESTINATION" --down "$uplink" --format json)
	[ "$(field uplink <<<"$fallback")" != "$uplink" ] && break
done
vm_address=$(field private_address <<<"$first")
dead_if=$(field interface <<<"$first")
fallback_if=$(field interface <<<"$fallback")
fallback_source=$(field public_address <<<"$fallback")
echo "# $vms VMs; traffic VM $vm ($vm_address) by $uplink ($dead_if), fallback $(field uplink <<<"$fallback") ($fallback_if) as $fallback_source; $entries movable connections per cut"

# The rig.
bench_rig "$ip_batch" "$nft_script" "$vm_address"
ip netns exec "$host_ns" nft -f "$nft_script"
ip netns exec "$vm_ns" ping -q -c 1 -W 2 "$DESTINATION" >/dev/null || {
	echo "failover_scale.sh: $vm_address cannot reach $DESTINATION" >&2
	exit 1
}
cat >"$out/cut.nft" <<EOF
table inet cut {
	chain prerouting { type filter hook prerouting priority raw - 10; policy accept; iifname "$dead_if" drop; }
	chain output { type filter hook output priority raw - 10; policy accept; oifname "$dead_if" drop; }
}
EOF

ip netns exec "$host_ns" "$switchyard" monitor "$out/build/net1/monitor.json" 2>"$out/monitor.log" &
monitor=$!
pids+=("$monitor")
ip netns exec "$vm_ns" ping -q -i 0.05 "$DESTINATION" >/dev/null &
pids+=($!)

wait_log() { # TEXT COUNT: until TEXT is in the log COUNT times
	local tries=0
	until [ "$(grep -c "$1" "$out/monitor.log")" -ge "$2" ]; do
		sleep 0.05
		tries=$((tries + 1))
		[ "$tries" -lt 400 ] || { echo "failover_scale.sh: no '$1' in the monitor's log" >&2; cat "$out/monitor.log" >&2; exit 1; }
	done
}
wait_log "watching" 1

missed=0
flows=() news=()
for round in $(seq "$cuts"); do
	ip netns exec "$vm_ns" python3 "$timing" traffic "$DESTINATION" "$entries" >"$out/traffic.log" &
	traffic=$!
	until grep -q sent "$out/traffic.log"; do sleep 0.05; done
	count=$(ip netns exec "$host_ns" conntrack -C)
	measured=$(ip netns exec "$isp_ns" python3 "$timing" cut "$fallback_if" "$fallback_source" "$monitor" "$out/cut.nft")
	read -r flow new helpers <<<"$measured"
	kill "$traffic" 2>/dev/null || true
	wait "$traffic" 2>/dev/null || true
	wait_log "is down" "$round"
	wait_log "deleted" "$round"
	left=$(ip netns exec "$host_ns" conntrack -C)
	verdict=ok
	if [ "$flow" = none ] || [ "$new" = none ] || [ "$flow" -gt 1500 ] || [ "$new" -gt 1000 ] || [ "$helpers" -gt 4 ]; then
		verdict=MISSED
		missed=1
	fi
	echo "cut $round: $count conntrack entries; running flow moved after $flow ms, new connections after $new ms; monitor helpers at most $helpers; $left entries left; $verdict"
	flows+=("$flow") news+=("$new")
	ip netns exec "$isp_ns" nft delete table inet cut
	wait_log "is up" "$round"
	ip netns exec "$host_ns" conntrack -F 2>/dev/null
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
worst() { printf '%s\n' "$@" | sort -g | tail -1; }
echo "| $vms VMs, $entries movable connections | median | worst | goal |"
echo "|---|---:|---:|---:|"
echo "| running flow on the fallback | $(median "${flows[@]}") ms | $(worst "${flows[@]}") ms | 1500 ms |"
echo "| new connections on the fallback | $(median "${news[@]}") ms | $(worst "${news[@]}") ms | 1000 ms |"
echo "Monitor log: $out/monitor.log"
exit "$missed"
