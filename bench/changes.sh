#!/usr/bin/env bash
# Review benchmark: how long `switchyard changes OLD NEW` takes on topologies of
# N VMs, for changes from none to everything, measured with hyperfine.
#
#   bench/changes.sh [--vms 100000] [--hosts 1] [--runs 5] [--out DIR] [--profile release]
#                    [--changes "identical removed-vm changed-egress added-public unrelated"]
#                    [--stack ipv4|dual]
#
# OLD is `synth --vms N --hosts H --seed 1` (with `--stack dual`, `--dual-stack`:
# every address and prefix has an IPv6 twin, so both families are compared).
# NEW is, per change: OLD itself (identical), OLD with one VM changed by
# bench/one_vm_change.rs (removed-vm, changed-egress, added-public), or `synth`
# with seed 2 (unrelated: every VM's addresses and entries differ). Each run reads, checks and plans both
# topologies and compares the plans; the JSON report goes to a file.
#
# Needs hyperfine. Prints a markdown report (also DIR/report.md) with the
# median and worst run of each and the size of the report; hyperfine's CSV and
# JSON are in DIR. Exit status 1 when a run fails, 2 on usage errors or a
# missing tool.
set -euo pipefail

vms=100000
hosts=1
runs=5
changes="identical removed-vm changed-egress added-public unrelated"
out=""
profile=release
stack=ipv4
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--vms N] [--hosts H] [--runs R] [--changes \"identical removed-vm …\"] [--out DIR] [--profile P] [--stack ipv4|dual]" \
	"vms hosts runs changes out profile stack" "$@"
case "$stack" in
ipv4) synth_stack=() ;;
dual) synth_stack=(--dual-stack) ;;
*)
	echo "$0: --stack is ipv4 or dual, not $stack" >&2
	exit 2
	;;
esac
bench_needs changes.sh hyperfine

bench_build "$profile" --bin switchyard --example synth --example one_vm_change
switchyard="$bindir/switchyard"

if [ -z "$out" ]; then out="$(mktemp -d /tmp/switchyard-changes-bench.XXXXXX)"; fi
mkdir -p "$out"

"$bindir/examples/synth" --vms "$vms" --hosts "$hosts" --seed 1 "${synth_stack[@]}" >"$out/old.toml"
report="$out/report.md"
{
	echo "### \`changes\` at $vms VMs ($stack) on $hosts host(s) (median and worst of $runs runs)"
	echo
	echo "| change | exit | summary | JSON report | median | worst |"
	echo "|---|---:|---|---:|---:|---:|"
} >"$report"
for change in $changes; do
	case "$change" in
	identical) cp "$out/old.toml" "$out/$change.toml" ;;
	unrelated) "$bindir/examples/synth" --vms "$vms" --hosts "$hosts" --seed 2 "${synth_stack[@]}" >"$out/$change.toml" ;;
	*) "$bindir/examples/one_vm_change" "$change" <"$out/old.toml" >"$out/$change.toml" 2>"$out/$change.log" ;;
	esac
	# Once for the report and its exit status: 0 (nothing changes) or 1.
	status=0
	"$switchyard" changes "$out/old.toml" "$out/$change.toml" --format json \
		>"$out/$change.json" 2>"$out/$change.stderr" || status=$?
	if [ "$status" -gt 1 ]; then
		cat "$out/$change.stderr" >&2
		exit 1
	fi
	hyperfine --style basic --shell=none --runs "$runs" --ignore-failure \
		--export-csv "$out/$change.csv" --export-json "$out/$change.hyperfine.json" \
		--output pipe \
		-n "$change" "$switchyard changes $out/old.toml $out/$change.toml --format json" \
		>"$out/$change.hyperfine.log" 2>&1 || {
		cat "$out/$change.hyperfine.log" >&2
		exit 1
	}
	summary="$(sed -n 's/^  "summary": "\(.*\)",$/\1/p' "$out/$change.json")"
	bytes="$(stat -c %s "$out/$change.json")"
	# hyperfine's CSV: command,mean,stddev,median,user,system,min,max
	awk -F, -v change="$change" -v status="$status" -v summary="$summary" -v bytes="$bytes" '
		NR > 1 { median = $4; worst = $8 }
		END {
			printf "| %s | %d | %s | %.1f MB | %.2f s | %.2f s |\n",
				change, status, summary, bytes / 1e6, median, worst
		}' "$out/$change.csv" >>"$report"
done
bench_report "$report" "$out"
