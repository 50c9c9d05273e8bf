#!/usr/bin/env bash
# Failover timing benchmark (docs/performance.md, "Failover timing"): builds
# tests/e2e/failover.toml (interval 200 ms, down_after 3, up_after 5), deploys it
# in the namespace rig of tests/e2e/rig.rs with `switchyard monitor` running,
# then cuts isp-a's ISP (it drops everything; its link stays up) and restores it,
# CUTS times, and prints the median and worst of
#   - new connections leaving by the fallback after the cut (goal 1 s),
#   - a running flow leaving by the fallback after the cut (goal 1 s),
#   - new connections returning after the ISP answers again (goal 1.2 s).
#
#   sudo bench/failover.sh [--cuts 10] [--profile dev|release]
#
# The measurement is the ignored test `failover_timing` of tests/e2e_failover.rs,
# so the benchmark and the kernel test share one rig. Exit status: 0 when every
# goal was met, 1 when one was missed (MISSED in the table) or the run failed, 2
# on usage errors.
set -euo pipefail

cuts=10
profile=dev
source "$(dirname "$0")/lib.sh"
bench_options "$0 [--cuts N] [--profile dev|release]" "cuts profile" "$@"
bench_needs failover.sh --root nft ip ping conntrack

cd "$(dirname "$0")/.."
echo "# $(date -u +%Y-%m-%d) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), kernel $(uname -r), profile $profile, load $(cut -d' ' -f1-3 /proc/loadavg)"
report=$(SWITCHYARD_CUTS="$cuts" cargo test --profile "$profile" --test e2e_failover failover_timing \
	-- --ignored --nocapture --test-threads 1 2>&1) || { echo "$report" >&2; exit 1; }
echo "$report" | grep -oE '(cut [0-9]+:.*|^\|.*)'
if echo "$report" | grep -q MISSED; then exit 1; fi
