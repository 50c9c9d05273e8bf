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
