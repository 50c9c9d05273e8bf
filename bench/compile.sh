#!/usr/bin/env bash
# Compile benchmark: `switchyard build` on synthetic topologies of several sizes,
# side by side in one hyperfine run with two floors of the same file: the toml
# floor (parsed by the toml crate alone into an owned `toml::Table`) and the plain
# parse (toml's borrowed document, the fastest parse it offers), then the peak
# RSS of each (GNU time) and the time of each pipeline stage (bench/stages.rs).
#
#   bench/compile.sh [--sizes "1000 10000 100000"] [--hosts 4] [--runs 5]
#                    [--out DIR] [--profile release] [--no-stages] [--dual-stack]
#
# `--dual-stack`: the topologies are `synth --dual-stack` (every address and
# prefix with an IPv6 twin).
#
# Prints a markdown report (also written to DIR/report.md) with the medians and
# the ratios against the targets of docs/performance.md:
#   build(largest) <= 1.5 x floor(largest); build(largest)/build(second) <= 12;
#   peak RSS of build(largest) <= 1 GiB.
# Exit status: 0 when every build succeeded (targets are reported, not enforced),
# 1 when a build failed, 2 on usage errors or a missing tool.
set -euo pipefail

sizes="1000 10000 100000"
hosts=4
runs=5
out=""
profile=release
stages=1
dual_stack=""
valued=()
for argument in "$@"; do
	case "$argument" in
	--no-stages) stages=0 ;;
	--dual-stack) dual_stack=--dual-stack ;;
	*) valued+=("$argument") ;;
	esac
done
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--sizes \"N ...\"] [--hosts H] [--runs R] [--out DIR] [--profile P] [--no-stages] [--dual-stack]" \
	"sizes hosts runs out profile" ${valued[@]+"${valued[@]}"}
bench_needs compile.sh hyperfine /usr/bin/time

root="$(cd "$(dirname "$0")/.." && pwd)"
cargo="${CARGO:-cargo}"
"$cargo" build --quiet --manifest-path "$root/Cargo.toml" --profile "$profile" \
	--bin switchyard --example synth --example toml_floor --example stages
target="$("$cargo" metadata --manifest-path "$root/Cargo.toml" --format-version 1 --no-deps |
	sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
# The dev profile builds into target/debug.
[ "$profile" = dev ] && bindir="$target/debug" || bindir="$target/$profile"
switchyard="$bindir/switchyard"
synth="$bindir/examples/synth"
floor="$bindir/examples/toml_floor"
stages_bin="$bindir/examples/stages"

if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-compile-bench.XXXXXX)"; fi
mkdir -p "$out"

# Topologies, and a first build of each: an invalid one stops here (exit 1).
commands=()
for n in $sizes; do
	"$synth" --vms "$n" --hosts "$hosts" --seed 1 $dual_stack >"$out/topology-$n.toml"
	if ! "$switchyard" build "$out/topology-$n.toml" -o "$out/build-$n" 2>"$out/build-$n.stderr"; then
		echo "compile.sh: switchyard build failed on $n VMs:" >&2
		cat "$out/build-$n.stderr" >&2
		exit 1
	fi
	commands+=("$floor $out/topology-$n.toml" "$floor --borrowed $out/topology-$n.toml"
		"$switchyard build $out/topology-$n.toml -o $out/build-$n")
done

# One hyperfine run: floor and build for every size, interleaved by size.
hyperfine --style basic --shell=none --warmup 1 --runs "$runs" \
	--export-csv "$out/hyperfine.csv" --export-json "$out/hyperfine.json" \
	"${commands[@]}" >"$out/hyperfine.log" 2>&1 || {
	cat "$out/hyperfine.log" >&2
	exit 1
}

# median (s) of a command, from hyperfine's CSV: command,mean,stddev,median,...
median() { awk -F, -v cmd="$1" '$1 == cmd { print $4 }' "$out/hyperfine.csv"; }
# peak RSS (KiB) of one run of a command.
peak_rss() {
	local log="$out/time.log"
	# shellcheck disable=SC2086 # the command is a plain word list
	/usr/bin/time -f '%M' -o "$log" $1 >/dev/null 2>&1
	cat "$log"
}

report="$out/report.md"
{
	echo "### Compile benchmark ($hosts hosts${dual_stack:+, dual-stack}, median of $runs runs, profile $profile)"
	echo
	echo "| VMs | topology | toml floor | plain parse | switchyard build | build / floor | build / plain parse | floor peak RSS | build peak RSS |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $sizes; do
		f="$(median "$floor $out/topology-$n.toml")"
		p="$(median "$floor --borrowed $out/topology-$n.toml")"
		b="$(median "$switchyard build $out/topology-$n.toml -o $out/build-$n")"
		frss="$(peak_rss "$floor $out/topology-$n.toml")"
		brss="$(peak_rss "$switchyard build $out/topology-$n.toml -o $out/build-$n")"
		size="$(stat -c %s "$out/topology-$n.toml")"
		awk -v n="$n" -v size="$size" -v f="$f" -v p="$p" -v b="$b" -v frss="$frss" -v brss="$brss" 'BEGIN {
			printf "| %d | %.1f MiB | %.0f ms | %.0f ms | %.0f ms | %.2f | %.2f | %.0f MiB | %.0f MiB |\n",
				n, size / 1048576, f * 1000, p * 1000, b * 1000, b / f, b / p, frss / 1024, brss / 1024 }'
		echo "$n $f $b $brss" >>"$out/summary"
	done
	echo
	echo "| target | measured | met |"
	echo "|---|---:|:---:|"
	awk '{ n[NR] = $1; f[NR] = $2; b[NR] = $3; rss[NR] = $4 } END {
		last = NR
		r = b[last] / f[last]
		printf "| build(%d) <= 1.5 x floor(%d) | %.2f x | %s |\n", n[last], n[last], r, (r <= 1.5 ? "yes" : "**no**")
		if (NR > 1) {
			s = b[last] / b[last - 1]
			printf "| build(%d) / build(%d) <= 12 | %.1f | %s |\n", n[last], n[last - 1], s, (s <= 12 ? "yes" : "**no**")
		}
		printf "| peak RSS of build(%d) <= 1 GiB | %.0f MiB | %s |\n", n[last], rss[last] / 1024, (rss[last] <= 1048576 ? "yes" : "**no**")
	}' "$out/summary"
	rm -f "$out/summary"
	if [ "$stages" = 1 ]; then
		for n in $sizes; do
			echo
			echo "Stages at $n VMs (in process, no file writes; median ms, share of the build):"
			echo
			echo "| stage | ms | share |"
			echo "|---|---:|---:|"
			"$stages_bin" "$out/topology-$n.toml" --runs "$runs" | awk -F'\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
		done
	fi
} | tee "$report"
echo
echo "Raw results: $out (hyperfine.json, hyperfine.csv, report.md)"
