#!/usr/bin/env bash
# Checks docs/model/onceflow.pml with spin: the real protocol in several configurations must satisfy every
# property, and each deliberately broken variant must be rejected by the property it breaks.
# One line per run: "PASS <name>: ..." or "FAIL <name>: ...". Exit status 0 only if every line is PASS.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v spin >/dev/null 2>&1; then
  echo "FAIL setup: spin is not installed (Debian/Ubuntu: apt-get install -y spin)"
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ALL="-DCHECK_ONCE -DCHECK_ZOMBIE -DCHECK_LIVENESS -DCHECK_OWNERS"
failures=0

# pan: exhaustive search (state compression), assertions and invalid end states; no truncation allowed.
verify() { # name expectation(holds|rejected) spin-flags...
  local name="$1" expect="$2"; shift 2
  local dir="$work/$name"
  mkdir -p "$dir" && cp "$here/onceflow.pml" "$dir/" && cd "$dir" || return 1
  local start=$SECONDS out
  # -O0: gcc needs a minute or more to optimise pan.c, longer than the searches take unoptimised.
  local optimise=-O0
  if ! spin -a "$@" onceflow.pml >spin.log 2>&1 || ! gcc "$optimise" -w -DSAFETY -DCOLLAPSE -DMEMLIM=1500 -o pan pan.c 2>gcc.log; then
    echo "FAIL $name: the model did not compile ($(head -c 300 spin.log gcc.log | tr '\n' ' '))"
    failures=$((failures + 1)); return
  fi
  out="$(./pan -m1000000 2>&1)"
  local states errors elapsed=$((SECONDS - start))
  states="$(grep -Eo '^ *[0-9]+ states, stored' <<<"$out" | grep -Eo '[0-9]+' | head -1)"
  errors="$(grep -Eo 'errors: [0-9]+' <<<"$out" | grep -Eo '[0-9]+' | head -1)"
  if [ "$expect" = holds ]; then
    if [ "${errors:-1}" = 0 ] && ! grep -qE 'max search depth too small|Search not completed|out of memory' <<<"$out"; then
      echo "PASS $name: holds (${states} states, complete search, ${elapsed}s)"
    else
      echo "FAIL $name: expected to hold: $(grep -E 'assertion violated|invalid end state|too small|not completed|out of memory' <<<"$out" | head -2 | tr '\n' ' ')"
      failures=$((failures + 1))
    fi
  else
    if grep -q 'assertion violated' <<<"$out"; then
      echo "PASS $name: rejected ($(grep -Eo 'depth [0-9]+' <<<"$out" | head -1) counterexample, ${elapsed}s)"
    else
      echo "FAIL $name: the broken variant was not rejected (errors: ${errors:-?}, ${states:-?} states)"
      failures=$((failures + 1))
    fi
  fi
  cd "$here" || exit 1
}

# Two runs at a time (two cores); the lines are printed in the order below.
jobs=()
run() { jobs+=("$*"); }

# The real protocol: every property, in configurations that together cover every action and fault.
run lease-crash-pause-extend holds $ALL -DTMAX=4 -DMAX_LOST=0 -DMAX_REDRIVES=0
run lease-lost-responses holds $ALL -DTMAX=4 -DMAX_PAUSES=0 -DMAX_EXTENDS=0 -DMAX_REDRIVES=0
run lease-park-redrive-ttl holds $ALL -DTMAX=6 -DMAX_PAUSES=0 -DMAX_LOST=0 -DMAX_EXTENDS=0 -DMAX_CRASHES=0
run mixed-modes holds $ALL -DMIX -DTMAX=4 -DMAX_EXTENDS=0 -DMAX_REDRIVES=0 -DMAX_CRASHES=0
run grouped-commit holds $ALL -DNI=2 -DTMAX=4 -DMAX_EXTENDS=0 -DMAX_REDRIVES=0 -DMAX_CRASHES=0 -DMAX_LOST=0
run three-consumers holds $ALL -DNC=3 -DTMAX=4 -DMAX_EXTENDS=0 -DMAX_REDRIVES=0 -DMAX_LOST=0 -DMAX_CRASHES=0

# Broken variants: each checked against the one property it must break.
run broken-unconditional-done rejected -DCHECK_ONCE -DBROKEN_UNCONDITIONAL_DONE -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0
run broken-park-downgrades-done rejected -DCHECK_ONCE -DBROKEN_PARK_DOWNGRADES_DONE -DMIX -DTMAX=5 -DMAX_LOST=0 -DMAX_EXTENDS=0
run broken-done-without-token rejected -DCHECK_ZOMBIE -DBROKEN_DONE_WITHOUT_TOKEN -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0
run broken-ack-in-flight rejected -DCHECK_LIVENESS -DBROKEN_ACK_IN_FLIGHT -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0
run broken-lease-without-margin rejected -DCHECK_OWNERS -DBROKEN_LEASE_WITHOUT_MARGIN -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0
run broken-lease-over-inclusive rejected -DCHECK_OWNERS -DBROKEN_LEASE_OVER_INCLUSIVE -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0
run broken-skew-beyond-margin rejected -DCHECK_OWNERS -DBROKEN_SKEW_BEYOND_MARGIN -DTMAX=5 -DMAX_LOST=0 -DMAX_REDRIVES=0

export -f verify
export here work
for ((n = 0; n < ${#jobs[@]}; n++)); do
  printf '%s\0' "$n ${jobs[$n]}"
done | xargs -0 -P 2 -I{} bash -c 'set -- {}; n=$1; shift; verify "$@" >"$work/result.$n" 2>&1'
for ((n = 0; n < ${#jobs[@]}; n++)); do
  cat "$work/result.$n" 2>/dev/null || echo "FAIL job $n: no result"
done | tee "$work/results"
failures=$(grep -c '^FAIL' "$work/results")
echo "model check: ${#jobs[@]} runs, $failures failed"
[ "$failures" -eq 0 ]
