#!/usr/bin/env bash
# Where a full `nft -f` of a host's script spends its time: the script loaded as
# built, with no elements at all (the structure), and with the elements of one
# set or map only, for each set and map that has one-per-line elements. Each
# variant is loaded --runs times into a fresh network namespace (flushed before
# every run by hyperfine's --prepare); the report gives the median, the element
# count and the time per element above the structure's.
#
#   bench/load_by_map.sh SCRIPT [--runs 5] [--out DIR]
#
# e.g. on the host of `synth --vms 100000 --hosts 1 --seed 1`, built with
# `switchyard build`. Needs root, ip, nft and hyperfine.
set -euo pipefail

script="${1:-}"
[ -n "$script" ] && [ -f "$script" ] || { echo "usage: $0 SCRIPT [--runs R] [--out DIR]" >&2; exit 2; }
shift
runs=5
out=""
source "$(dirname "$0")/lib.sh"
bench_options "$0 SCRIPT [--runs R] [--out DIR]" "runs out" "$@"
bench_needs load_by_map.sh --root ip nft hyperfine
if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-load-by-map.XXXXXX)"; fi
mkdir -p "$out"
netns="sy-bench-load-$$"
ip netns add "$netns"
trap 'ip netns del "$netns"' EXIT

# The script keeping the element blocks of the sets and maps named in KEEP
# (space-separated; empty: none).
keep_elements() {
	awk -v keep=" $1 " '
		/^\t(set|map) [^ ]+ \{$/ { name = $2 }
		/^\t\telements = \{$/ { block = 1; kept = index(keep, " " name " ") > 0 }
		block { if (kept) print; if ($0 == "\t\t}") block = 0; next }
		{ print }' "$script"
}

# Sets and maps with an element block, and their element counts.
awk '
	/^\t(set|map) [^ ]+ \{$/ { name = $2 }
	/^\t\telements = \{$/ { block = 1; n = 0; next }
	block && $0 == "\t\t}" { block = 0; print name, n; next }
	block { n++ }' "$script" >"$out/counts"

variants=(-n "as built" "ip netns exec $netns nft -f $script")
keep_elements "" >"$out/structure.nft"
variants+=(-n structure "ip netns exec $netns nft -f $out/structure.nft")
while read -r name _; do
	keep_elements "$name" >"$out/$name.nft"
	variants+=(-n "$name" "ip netns exec $netns nft -f $out/$name.nft")
done <"$out/counts"

hyperfine --style basic --shell=none --runs "$runs" --prepare "ip netns exec $netns nft flush ruleset" \
	--export-csv "$out/load.csv" "${variants[@]}" >"$out/hyperfine.log" 2>&1 || {
	cat "$out/hyperfine.log" >&2
	exit 1
}

{
	echo "### nft -f by set and map (median of $runs loads into an empty namespace)"
	echo
	echo "| loaded | elements | median | above the structure | per element |"
	echo "|---|---:|---:|---:|---:|"
	awk -F, '
		FNR == NR { count[$1] = $2; next }
		FNR > 1 { median[$1] = $4 * 1000; order[++n] = $1 }
		END {
			base = median["structure"]
			for (i = 1; i <= n; i++) {
				name = order[i]; m = median[name]
				if (name in count) {
					printf "| %s | %d | %.0f ms | %.0f ms | %.1f µs |\n", name, count[name], m, m - base, (m - base) * 1000 / count[name]
				} else {
					printf "| %s | | %.0f ms | | |\n", name, m
				}
			}
		}' FS=' ' "$out/counts" FS=, "$out/load.csv"
	echo
	echo "Machine load (uptime): $(uptime | sed 's/.*load average/load average/')"
} | tee "$out/report.md"
echo
echo "Raw results: $out"
