#!/usr/bin/env bash
# Update benchmark: how long a one-VM change takes to apply on a host with N VMs,
# with `switchyard.update.nft` (build --since) beside the full `switchyard.nft`,
# measured in one hyperfine run per change.
#
#   bench/update.sh [--vms 100000] [--runs 10] [--out DIR] [--profile release]
#                   [--changes "removed-vm removed-own-vm changed-egress added-public"]
#                   [--dual-stack]
#                   [--loads "update full fresh"]
#
# It generates OLD = `synth --vms N --hosts 1 --seed 1` and builds it, then for
# each change makes NEW with bench/one_vm_change.rs (a removed VM, a removed VM
# with egress entries of its own, a VM's egress entry via another of its
# addresses, a public address added to a VM; with `--dual-stack` OLD is `synth
# --dual-stack`, and the default changes are the two removed VMs and those two
# in IPv6: `changed-egress6`, `added-public6`) and runs
# `switchyard build NEW -o DIR --since OLD`. In a network namespace, hyperfine
# then times, side by side (--runs runs each, OLD's script loaded before every
# run by --prepare):
#
#   update  nft -f NEW/net1/switchyard.update.nft   (over OLD)
#   full    nft -f NEW/net1/switchyard.nft          (over OLD: the table replaced)
#   fresh   nft -f NEW/net1/switchyard.nft          (into an empty namespace)
#
# `--loads update` times the update file alone (a full load of 100k VMs takes
# seconds a run). Needs root, ip, nft and hyperfine. Prints a markdown report (also DIR/report.md)
# with the median and worst run of each; hyperfine's CSV and JSON are in DIR.
# Exit status 1 when a build or a load fails, 2 on usage errors or a missing tool.
set -euo pipefail

vms=100000
runs=10
changes=""
loads="update full fresh"
out=""
profile=release
dual_stack=""
valued=()
for argument in "$@"; do
	if [ "$argument" = --dual-stack ]; then dual_stack=--dual-stack; else valued+=("$argument"); fi
done
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--vms N] [--runs R] [--changes \"removed-vm removed-own-vm changed-egress added-public\"] [--loads \"update full fresh\"] [--out DIR] [--profile P] [--dual-stack]" \
	"vms runs changes loads out profile" ${valued[@]+"${valued[@]}"}
if [ -z "$changes" ]; then
	changes="removed-vm removed-own-vm changed-egress added-public"
	[ -z "$dual_stack" ] || changes="removed-vm removed-own-vm changed-egress6 added-public6"
fi
bench_needs update.sh --root ip nft hyperfine

root="$(cd "$(dirname "$0")/.." && pwd)"
cargo="${CARGO:-cargo}"
"$cargo" build --quiet --manifest-path "$root/Cargo.toml" --profile "$profile" \
	--bin switchyard --example synth --example one_vm_change
target="$("$cargo" metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
[ "$profile" = dev ] && bindir="$target/debug" || bindir="$target/$profile"
switchyard="$bindir/switchyard"

if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-update-bench.XXXXXX)"; fi
mkdir -p "$out"
netns="sy-bench-update-$$"
ip netns add "$netns"
trap 'ip netns del "$netns"' EXIT
nft_in() { echo "ip netns exec $netns nft $*"; }

"$bindir/examples/synth" --vms "$vms" --hosts 1 --seed 1 $dual_stack >"$out/old.toml"
"$switchyard" build "$out/old.toml" -o "$out/old" 2>"$out/old.stderr" || {
	cat "$out/old.stderr" >&2
	exit 1
}
host="$(ls "$out/old" | grep -v manifest.json)"

report="$out/report.md"
{
	echo "### One-VM change at $vms ${dual_stack:+dual-stack }VMs on one host (median and worst of $runs runs)"
	echo
	echo "| change | update statements | update file | update | worst | full load over OLD | worst | full load, fresh | worst |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
} >"$report"
for change in $changes; do
	"$bindir/examples/one_vm_change" "$change" <"$out/old.toml" >"$out/$change.toml" 2>"$out/$change.log"
	"$switchyard" build "$out/$change.toml" -o "$out/$change" --since "$out/old" 2>>"$out/$change.log" || {
		cat "$out/$change.log" >&2
		exit 1
	}
	update="$out/$change/$host/switchyard.update.nft"
	script="$out/$change/$host/switchyard.nft"
	loaded=()
	for load in $loads; do
		case "$load" in
		update) loaded+=(--prepare "$(nft_in -f "$out/old/$host/switchyard.nft")" -n update "$(nft_in -f "$update")") ;;
		full) loaded+=(--prepare "$(nft_in -f "$out/old/$host/switchyard.nft")" -n full "$(nft_in -f "$script")") ;;
		fresh) loaded+=(--prepare "$(nft_in flush ruleset)" -n fresh "$(nft_in -f "$script")") ;;
		*)
			echo "update.sh: unknown load $load (update, full, fresh)" >&2
			exit 2
			;;
		esac
	done
	hyperfine --style basic --shell=none --runs "$runs" \
		--export-csv "$out/$change.csv" --export-json "$out/$change.json" \
		"${loaded[@]}" >"$out/$change.hyperfine.log" 2>&1 || {
		cat "$out/$change.hyperfine.log" >&2
		exit 1
	}
	statements="$(grep -cv '^#' "$update")"
	bytes="$(stat -c %s "$update")"
	# hyperfine's CSV: command,mean,stddev,median,user,system,min,max
	awk -F, -v change="$change" -v statements="$statements" -v bytes="$bytes" '
		NR > 1 { median[$1] = $4 * 1000; worst[$1] = $8 * 1000 }
		# A load not timed (--loads) is a dash.
		function ms(load, of) { return (load in of) ? sprintf("%.0f ms", of[load]) : "–" }
		END {
			printf "| %s | %d | %.1f kB | %s | %s | %s | %s | %s | %s |\n",
				change, statements, bytes / 1000, ms("update", median), ms("update", worst),
				ms("full", median), ms("full", worst), ms("fresh", median), ms("fresh", worst)
		}' "$out/$change.csv" >>"$report"
done
{
	echo
	echo "Machine load (uptime): $(uptime | sed 's/.*load average/load average/')"
} >>"$report"
cat "$report"
echo
echo "Raw results: $out"
