#!/usr/bin/env bash
# Dataplane benchmark: forwarding through a switchyard host in network namespaces,
# at several numbers of VMs, with switchyard's ruleset and with the per-VM
# baseline (what the blueprint and Shorewall-style configurations produce).
#
#   bench/dataplane.sh [--sizes "10 10000 100000"] [--duration 3] [--runs 3]
#                      [--tests "tcp udp64 udp64-flows"] [--designs "switchyard baseline"]
#                      [--families "4 6"] [--out DIR] [--profile release]
#
# The rig (one set of namespaces per size and design, torn down afterwards):
#
#   vm ──veth── host ──veth (one per uplink)── isp
#
# `vm` holds one real VM address: the VM in the middle of the host's VMs in name
# order (so the baseline's linear rule lists are scanned halfway, their average
# case); the ruleset holds all N VMs. `host` loads the artifacts of
# `switchyard build` for a synthetic topology of N VMs on one host (examples/synth.rs)
# and forwards; `isp` owns the destination 203.0.113.10 (matched by no egress
# entry, so every new connection goes through the whole classification: internal
# set, own_egress set, egress_by_project lookup and default sets' rules →
# via_pool chain → mark → ip rule → uplink table → SNAT map) and routes the pools
# back to the host.
#
# Designs:
#   switchyard  the built switchyard.nft and switchyard.ip, as deployed.
#   baseline    the same uplink tables, plus one `ip rule from VM lookup TABLE` per
#               VM (its default uplink) and a plain nat chain with one rule per VM
#               and destination, `ip saddr VM ip daddr RANGE snat to PUBLIC`, then
#               `ip saddr VM snat to PUBLIC` for its default. Derived from the same
#               build, so both designs send the same traffic the same way.
#
# Tests (medians of --runs runs of --duration seconds each):
#   tcp          iperf3 TCP, one stream: Mbit/s received.
#   udp64        iperf3 UDP, 64-byte payloads, unlimited rate (-b 0): packets/s
#                forwarded (an nft counter at the isp). After its first packet the
#                flow is established: this measures the per-packet path (ct mark
#                restore, ip rules).
#   udp64-flows  the same stream, with the vm namespace rewriting every packet's
#                source and destination port (nft numgen), so that nearly every
#                packet is a new connection at the host and takes the
#                classification and SNAT path; counted the same way.
#
# Families: `--families 4` (the default) measures IPv4 on IPv4-only topologies;
# with 6 among them the topologies are dual-stack (`synth --dual-stack`), the
# rig routes IPv6 too (the build's switchyard6.ip), and each test also runs in IPv6
# (the VM's IPv6 twin to 2001:db8:ffff::10, switchyard design only: the
# baseline is IPv4's), reported as its own metric (`udp64-flows (IPv6)`).
#
# Also measured: the time `nft -f` takes to load each design's ruleset into a fresh
# host namespace (and `ip -batch` for the baseline's rules).
#
# Output: a markdown report (DIR/report.md) and DIR/results.tsv with one line per
# measurement: size, design, metric, median, unit. Exit status 1 when a
# measurement is zero or a step fails, 2 on usage errors or a missing tool.
set -euo pipefail

sizes="10 10000 100000"
duration=3
runs=3
tests="tcp udp64 udp64-flows"
designs="switchyard baseline"
families=4
out=""
profile=release
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--sizes \"N ...\"] [--duration S] [--runs R] [--tests \"tcp udp64 udp64-flows\"] [--designs \"switchyard baseline\"] [--families \"4 6\"] [--out DIR] [--profile P]" \
	"sizes duration runs tests designs families out profile" "$@"
bench_needs dataplane.sh --root ip nft iperf3 /usr/bin/time

root="$(cd "$(dirname "$0")/.." && pwd)"
cargo="${CARGO:-cargo}"
"$cargo" build --quiet --manifest-path "$root/Cargo.toml" --profile "$profile" \
	--bin switchyard --example synth
target="$("$cargo" metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ "$profile" = dev ] && bindir="$target/debug" || bindir="$target/$profile"
switchyard="$bindir/switchyard"
synth="$bindir/examples/synth"

if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-dataplane-bench.XXXXXX)"; fi
mkdir -p "$out"
results="$out/results.tsv"
: >"$results"

# Namespaces are unique to this run and removed on any exit.
prefix="sydp$$"
vm_ns="$prefix-vm"
host_ns="$prefix-host"
isp_ns="$prefix-isp"
teardown() {
	for ns in "$vm_ns" "$host_ns" "$isp_ns"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}
trap teardown EXIT

DESTINATION=203.0.113.10
DESTINATION6=2001:db8:ffff::10
case " $families " in *" 6 "*) dual_stack=--dual-stack ;; *) dual_stack="" ;; esac

# Elements of one set or map of an nft script, one per line, without comments.
elements() {
	awk -v header="$2" '
		index($0, header) == 1 { inside = 1; next }
		inside && /^\t}/ { exit }
		inside && /^\t\t\t/ { sub(/^\t\t\t/, ""); sub(/,( #.*)?$/, ""); print }
	' "$1"
}

# awk functions: expand(SOURCE) fills addr[1..n] with the VM addresses of an
# egress source (one address, a run a-b, or a prefix a/len, highest first) and
# returns n.
expand_sources='
		function n2ip(n) { return int(n / 16777216) "." int(n / 65536) % 256 "." int(n / 256) % 256 "." n % 256 }
		function ip2n(ip, o) { split(ip, o, "."); return ((o[1] * 256 + o[2]) * 256 + o[3]) * 256 + o[4] }
		function expand(source, bounds, first, last, n, i) {
			if (split(source, bounds, "-") == 2) { first = ip2n(bounds[1]); last = ip2n(bounds[2]) }
			else if (split(source, bounds, "/") == 2) { first = ip2n(bounds[1]); last = first + 2 ^ (32 - bounds[2]) - 1 }
			else { first = last = ip2n(source) }
			n = 0
			for (i = last; i >= first; i--) addr[++n] = n2ip(i)
			return n
		}'

# The per-VM baseline, derived from a switchyard build: BASE.nft and BASE.ip.
baseline() {
	local nft="$1" ipb="$2" base="$3"
	awk -v nft_out="$base.nft" -v ip_out="$base.ip" '
		FNR == 1 { file++ }
		# ip batch: "# Uplink NAME (id N) on IF: ... use table T."
		file == 1 && /^# Uplink / { table[$3] = $NF; sub(/\.$/, "", table[$3]) }
		# nft: "# Pool NAME (PREFIX) leaves through uplink UPLINK: ..." then "map snat_pool_N {"
		file == 2 && /^\t# Pool / {
			for (i = 1; i < NF; i++) if ($i == "uplink") uplink = $(i + 1)
			sub(/:$/, "", uplink); next_pool = 1; next
		}
		file == 2 && next_pool && /^\tmap snat_pool_/ {
			n = $2; sub(/snat_pool_/, "", n); pool_table[n] = table[uplink]; next_pool = 0
			in_snat = n; next
		}
		file == 2 && /^\tset vm_sources / { in_sources = 1; next }
		file == 2 && /^\tset own_egress / { in_own = 1; next }
		# egress_by_vm, or its shards egress_by_vm_S on a large host.
		file == 2 && /^\tmap egress_by_vm(_[0-9]+)? / { in_by_vm = 1; next }
		# "set default_pool_N {": the VMs whose default is pool N (IPv4).
		file == 2 && /^\tset default_pool_/ { in_default = $2; sub(/default_pool_/, "", in_default); next }
		file == 2 && /^\tmap egress_by_project / { in_by_project = 1; next }
		file == 2 && /^\t}/ { in_snat = in_sources = in_own = in_by_vm = in_default = in_by_project = 0; next }
		file == 2 && /^\t\t\t[0-9]/ {
			sub(/,( #.*)?$/, "")
			if (in_snat) { public[in_snat, $1] = $3 }
			# vm_sources holds runs of consecutive VM addresses (a-b, or a/len
			# when the run is a prefix): one baseline rule per VM.
			else if (in_sources) { for (k = expand($1); k > 0; k--) add(addr[k]) }
			else if (in_own) { own[$1] = 1 }
			# A VM`s default: the baseline`s last rule per VM and its ip rule
			# stand for it.
			else if (in_default) { dpool[$1] = in_default }
			# Sources are a VM address (egress_by_vm) or a project network
			# (egress_by_project), each with its own list of ranges.
			else if (in_by_vm || in_by_project) {
				if (in_by_project) network($1)
				nr[$1]++; range[$1, nr[$1]] = $3; rpool[$1, nr[$1]] = $6
			}
		}
		# Notes a project network, the first time it is seen.
		function network(net, k) {
			if (net in network_seen) return
			network_seen[net] = 1; networks[++nets] = net
			# expand() lists the network`s addresses, highest first.
			k = expand(net); net_first[nets] = ip2n(addr[k]); net_last[nets] = ip2n(addr[1])
		}
		# The key a VM`s decisions are found by: its address, or its network.
		function source_of(vm, n, i) {
			if (vm in own) return vm
			n = ip2n(vm)
			for (i = 1; i <= nets; i++) if (net_first[i] <= n && n <= net_last[i]) return networks[i]
			return vm
		}
		function add(vm) { if (!(vm in seen)) { seen[vm] = 1; order[++vms] = vm } }
	'"$expand_sources"'
		END {
			print "table ip baseline\ndelete table ip baseline\ntable ip baseline {" > nft_out
			print "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;" > nft_out
			for (i = 1; i <= vms; i++) {
				vm = order[i]; source = source_of(vm)
				for (r = 1; r <= nr[source]; r++) {
					p = rpool[source, r]; sub(/via_pool_/, "", p)
					printf "\t\tip saddr %s ip daddr %s snat to %s\n", vm, range[source, r], public[p, vm] > nft_out
				}
				if (vm in dpool) {
					p = dpool[vm]
					printf "\t\tip saddr %s snat to %s\n", vm, public[p, vm] > nft_out
					printf "rule add from %s lookup %s priority 2000\n", vm, pool_table[p] > ip_out
				}
			}
			print "\t}\n}" > nft_out
		}
	' "$ipb" "$nft"
}

# Builds the rig for one design: namespaces, links, addresses, routes, rules.
# Sets LOAD_SECONDS to the time nft -f took (and IP_SECONDS for the baseline's rules).
setup() {
	local build="$1" design="$2" vm_address="$3" vm_address6="$4"
	local nft="$build/net1/switchyard.nft" ipb="$build/net1/switchyard.ip"
	local ipb6="$build/net1/switchyard6.ip"
	teardown
	if [ -n "$vm_address6" ]; then
		bench_rig "$ipb" "$nft" "$vm_address" "$ipb6" "$vm_address6"
	else
		bench_rig "$ipb" "$nft" "$vm_address"
	fi
	LOAD_SECONDS=""
	IP_SECONDS=""
	case "$design" in
	switchyard)
		LOAD_SECONDS="$(timed ip netns exec "$host_ns" nft -f "$nft")"
		;;
	baseline)
		baseline "$nft" "$ipb" "$build/baseline"
		LOAD_SECONDS="$(timed ip netns exec "$host_ns" nft -f "$build/baseline.nft")"
		IP_SECONDS="$(timed ip -n "$host_ns" -batch "$build/baseline.ip")"
		;;
	esac
	# Reachability: one ping through the whole path, or the rig is broken.
	if ! ip netns exec "$vm_ns" ping -q -c 1 -W 2 "$DESTINATION" >/dev/null; then
		echo "dataplane.sh: $design rig: $vm_address cannot reach $DESTINATION" >&2
		exit 1
	fi
	if [ -n "$vm_address6" ] && ! ip netns exec "$vm_ns" ping -q -c 1 -W 2 "$DESTINATION6" >/dev/null; then
		echo "dataplane.sh: $design rig: $vm_address6 cannot reach $DESTINATION6" >&2
		exit 1
	fi
}

# Wall-clock seconds of a command.
timed() {
	local log="$out/time.log"
	/usr/bin/time -f '%e' -o "$log" "$@" >/dev/null
	cat "$log"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : 0) }'; }

# One measurement in FAMILY (4 or 6); prints the number (Mbit/s or packets/s).
measure() {
	local test="$1" family="$2" log="$out/iperf.log"
	local destination="$DESTINATION" listening="$DESTINATION:5201" ip=ip
	if [ "$family" = 6 ]; then
		destination="$DESTINATION6" listening="[$DESTINATION6]:5201" ip=ip6
	fi
	ip netns exec "$isp_ns" iperf3 -s -1 -B "$destination" >/dev/null 2>&1 &
	local server=$!
	local tries=0
	until ip netns exec "$isp_ns" ss -ltn | grep -qF "$listening"; do
		sleep 0.05
		tries=$((tries + 1))
		[ "$tries" -lt 100 ] || { echo "dataplane.sh: iperf3 server did not start" >&2; exit 1; }
	done
	case "$test" in
	tcp)
		ip netns exec "$vm_ns" iperf3 -c "$destination" -t "$duration" -f m >"$log"
		awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }' "$log"
		;;
	udp64 | udp64-flows)
		# Counted where they leave the host: an nft counter at the isp, which then
		# drops them (the server's socket would be the bottleneck otherwise).
		ip netns exec "$isp_ns" nft -f - <<-EOF
			table $ip count {
				counter forwarded { }
				chain in {
					type filter hook prerouting priority 0; policy accept;
					$ip daddr $destination udp length 72 counter name forwarded drop
				}
			}
		EOF
		if [ "$test" = udp64-flows ]; then
			# New ports on every 64-byte datagram (iperf3's own 4-byte handshake
			# keeps its ports): the host sees a new connection each time.
			ip netns exec "$vm_ns" nft -f - <<-EOF
				table $ip flows {
					chain out {
						type filter hook output priority 0; policy accept;
						$ip daddr $destination udp length 72 udp sport set numgen inc mod 64511 offset 1024 udp dport set numgen random mod 64511 offset 1024
					}
				}
			EOF
		fi
		ip netns exec "$vm_ns" iperf3 -c "$destination" -u -l 64 -b 0 -t "$duration" >"$log" 2>&1 || true
		ip netns exec "$isp_ns" nft list counter $ip count forwarded |
			awk -v d="$duration" '/packets/ { printf "%.0f\n", $2 / d }'
		ip netns exec "$vm_ns" nft delete table $ip flows 2>/dev/null || true
		ip netns exec "$isp_ns" nft delete table $ip count
		;;
	esac
	kill "$server" 2>/dev/null || true
	wait "$server" 2>/dev/null || true
}

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

for n in $sizes; do
	"$synth" --vms "$n" --hosts 1 --seed 1 $dual_stack >"$out/build-$n.toml"
	"$switchyard" build "$out/build-$n.toml" -o "$out/build-$n" 2>"$out/build-$n.stderr" || {
		cat "$out/build-$n.stderr" >&2
		exit 1
	}
	# The traffic VM: the middle one of the host's VMs, in name order.
	# vm_sources holds runs of consecutive VM addresses: expand them.
	mapfile -t vm_addresses < <(elements "$out/build-$n/net1/switchyard.nft" $'\tset vm_sources {' |
		awk "$expand_sources"'{ for (k = expand($1); k > 0; k--) print addr[k] }')
	vm_address="${vm_addresses[$((${#vm_addresses[@]} / 2))]}"
	# Its IPv6 twin, from its `address = ["v4", "v6"]` in the topology.
	vm_address6=""
	if [ -n "$dual_stack" ]; then
		vm_address6="$(awk -v v4="\"$vm_address\"," '$1 == "address" && $3 == "[" v4 { v6 = $4; gsub(/[]"]/, "", v6); print v6; exit }' "$out/build-$n.toml")"
	fi
	for design in $designs; do
		# The baseline is IPv4's: its rig and tests stay IPv4.
		design_families="$families" rig_address6="$vm_address6"
		[ "$design" = switchyard ] || design_families=4 rig_address6=""
		setup "$out/build-$n" "$design" "$vm_address" "$rig_address6"
		record "$n" "$design" "nft -f" "$LOAD_SECONDS" s
		[ -z "$IP_SECONDS" ] || record "$n" "$design" "ip -batch (per-VM rules)" "$IP_SECONDS" s
		for test in $tests; do
			for family in $design_families; do
				values=()
				for _ in $(seq "$runs"); do values+=("$(measure "$test" "$family")"); done
				value="$(printf '%s\n' "${values[@]}" | median)"
				case "$test" in tcp) unit="Mbit/s" ;; *) unit="packets/s" ;; esac
				metric="$test"
				[ "$family" = 4 ] || metric="$test (IPv6)"
				record "$n" "$design" "$metric" "$value" "$unit"
				echo "$n VMs, $design, $metric: ${values[*]} -> median $value $unit" >&2
				if ! awk -v v="$value" 'BEGIN { exit !(v > 0) }'; then
					echo "dataplane.sh: $metric through $design at $n VMs measured nothing" >&2
					exit 1
				fi
			done
		done
		teardown
	done
done

# Report: one table per metric, sizes down, designs across, and ratios vs the
# smallest size.
report="$out/report.md"
{
	echo "### Dataplane benchmark (median of $runs runs of ${duration}s)"
	awk -F'\t' -v sizes="$sizes" -v designs="$designs" '
		{ v[$1, $2, $3] = $4; unit[$3] = $5; if (!($3 in seen)) { seen[$3] = 1; metric[++m] = $3 } }
		END {
			ns = split(sizes, size, " "); nd = split(designs, design, " ")
			for (i = 1; i <= m; i++) {
				printf "\n| %s (%s) |", metric[i], unit[metric[i]]
				for (d = 1; d <= nd; d++) printf " %s | vs %s VMs |", design[d], size[1]
				printf "\n|---:|"
				for (d = 1; d <= nd; d++) printf "---:|---:|"
				printf "\n"
				for (s = 1; s <= ns; s++) {
					printf "| %s VMs |", size[s]
					for (d = 1; d <= nd; d++) {
						x = v[size[s], design[d], metric[i]]; b = v[size[1], design[d], metric[i]]
						if (x == "") printf " – | – |"
						else printf " %s | %s |", x, (b > 0 ? sprintf("%.0f%%", 100 * x / b) : "–")
					}
					printf "\n"
				}
			}
		}' "$results"
} | tee "$report"
echo
echo "Raw results: $out (results.tsv, report.md)"
