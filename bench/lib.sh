# Shared by the benchmark scripts (sourced, never run): their options and the
# tools they need, one way.

# bench_options USAGE "NAME ..." ARGUMENTS...: sets the variable NAME from
# each `--NAME VALUE` among ARGUMENTS; anything else prints USAGE and exits 2.
bench_options() {
	local usage="$1" names=" $2 "
	shift 2
	while [ $# -gt 0 ]; do
		local name="${1#--}"
		if [ "$name" = "$1" ] || [ $# -lt 2 ] || [[ "$names" != *" $name "* ]]; then
			echo "usage: $usage" >&2
			exit 2
		fi
		printf -v "$name" '%s' "$2"
		shift 2
	done
}

# bench_needs SCRIPT [--root] TOOL...: exits 2, naming what is missing, unless
# every TOOL is on PATH (and, with --root, we are root: network namespaces).
bench_needs() {
	local script="$1"
	shift
	if [ "${1:-}" = --root ]; then
		shift
		[ "$(id -u)" = 0 ] || { echo "$script: needs root (network namespaces)" >&2; exit 2; }
	fi
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "$script: $tool is missing (sudo bash .ci/run installs it)" >&2; exit 2; }
	done
}

# bench_build PROFILE TARGET...: builds cargo TARGETs (`--bin NAME`, `--example
# NAME`) with PROFILE and sets `bindir` to where they are.
bench_build() {
	local profile="$1" root target
	shift
	root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
	"${CARGO:-cargo}" build --quiet --manifest-path "$root/Cargo.toml" --profile "$profile" "$@"
	target="$("${CARGO:-cargo}" metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
		sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
	[ "$profile" = dev ] && bindir="$target/debug" || bindir="$target/$profile"
}

# bench_report REPORT OUT: notes the machine load under the markdown REPORT,
# prints it, and says where the raw results (OUT) are.
bench_report() {
	{
		echo
		echo "Machine load (uptime): $(uptime | sed 's/.*load average/load average/')"
	} >>"$1"
	cat "$1"
	echo
	echo "Raw results: $2"
}

# bench_rig IP_BATCH NFT_SCRIPT VM_ADDRESS [IP6_BATCH VM_ADDRESS6]: namespaces
# $vm_ns, $host_ns and $isp_ns wired as the build's host sees them: the VM on
# lan0 (its /24, the host's .1 its gateway), one veth per uplink whose isp end,
# named after the host end, holds the gateway, DESTINATION on the isp's
# loopback, and each pool routed back through its uplink's interface. Loads
# the ip batch, not the table. With IP6_BATCH, IPv6 too: the VM's VM_ADDRESS6
# in its /64 (the host's ::1 its gateway), the uplinks' IPv6 addresses and
# gateways from IP6_BATCH (loaded after the IPv4 batch, whose flushes may name
# both families), DESTINATION6 and the IPv6 pools routed back the same way.
bench_rig() {
	local ip_batch="$1" nft_script="$2" vm_address="$3" ip6_batch="${4:-}" vm_address6="${5:-}"
	local ns address dev gateway pool
	local -A host_address
	for ns in "$vm_ns" "$host_ns" "$isp_ns"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		# Before any link exists: no duplicate address detection to wait for.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	ip netns exec "$host_ns" sysctl -qw net.ipv4.ip_forward=1
	ip link add v0 netns "$vm_ns" type veth peer name lan0 netns "$host_ns"
	ip -n "$vm_ns" address add "$vm_address/24" dev v0
	ip -n "$host_ns" address add "${vm_address%.*}.1/24" dev lan0
	ip -n "$vm_ns" link set v0 up
	ip -n "$host_ns" link set lan0 up
	ip -n "$vm_ns" route add default via "${vm_address%.*}.1"
	if [ -n "$ip6_batch" ]; then
		ip netns exec "$host_ns" sysctl -qw net.ipv6.conf.all.forwarding=1
		ip -n "$vm_ns" address add "$vm_address6/64" dev v0 nodad
		ip -n "$host_ns" address add "${vm_address6%::*}::1/64" dev lan0 nodad
		ip -n "$vm_ns" -6 route add default via "${vm_address6%::*}::1"
	fi
	while read -r address dev gateway; do
		host_address[$dev]=${address%/*}
		ip link add "$dev" netns "$host_ns" type veth peer name "$dev" netns "$isp_ns"
		ip -n "$isp_ns" address add "$gateway/${address#*/}" dev "$dev"
		ip -n "$host_ns" link set "$dev" up
		ip -n "$isp_ns" link set "$dev" up
	done < <(awk '/^address replace / { a[$5] = $3 } /^route add default via / { print a[$7], $7, $5 }' "$ip_batch")
	ip -n "$isp_ns" address add "$DESTINATION/32" dev lo
	if [ -n "$ip6_batch" ]; then
		while read -r address dev gateway; do
			host_address[$dev/6]=${address%/*}
			ip -n "$isp_ns" address add "$gateway/${address#*/}" dev "$dev" nodad
		done < <(awk '/^address replace / { a[$5] = $3 } /^route add default via / { print a[$7], $7, $5 }' "$ip6_batch")
		ip -n "$isp_ns" address add "$DESTINATION6/128" dev lo
	fi
	# A pool's prefixes (one per family) from its comment in the nft script:
	# `# Pool NAME (PREFIX[, PREFIX6]) leaves through uplink UPLINK: …`.
	while read -r pool dev; do
		case "$pool" in
		*:*) [ -z "$ip6_batch" ] || ip -n "$isp_ns" -6 route add "$pool" via "${host_address[$dev/6]}" dev "$dev" onlink ;;
		*) ip -n "$isp_ns" route add "$pool" via "${host_address[$dev]}" dev "$dev" ;;
		esac
	done < <(awk '
		FNR == 1 { file++ }
		file == 1 && /^# Uplink / { i = $7; sub(/:$/, "", i); interface[$3] = i }
		file == 2 && /^\t# Pool / && match($0, /\([^)]*\) leaves through uplink [^:]*:/) {
			text = substr($0, RSTART + 1, RLENGTH - 2)
			split(text, words, ") leaves through uplink ")
			n = split(words[1], prefixes, ", ")
			for (k = 1; k <= n; k++) print prefixes[k], interface[words[2]]
		}
	' "$ip_batch" "$nft_script")
	ip -n "$host_ns" -batch "$ip_batch"
	[ -z "$ip6_batch" ] || ip -n "$host_ns" -6 -batch "$ip6_batch"
}
