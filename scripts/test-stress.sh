#!/bin/sh
# npm run test:stress: the whole suite, several times in a row, while other processes keep
# every core busy. A test that passes alone but fails here depends on timing (a timer order,
# a fixed wait, a bound counted in loop turns) and must be fixed.
#
#   npm run test:stress                      3 runs, one busy process per core
#   STRESS_RUNS=5 STRESS_BURNERS=4 npm run test:stress
#   npm run test:stress -- test/server       only these files or folders (as npm test)
#
# The busy processes are stopped by their PIDs when the script ends, however it ends. Each
# run's output is kept in a temporary directory (printed at the end) with its failures.
set -u
cd "$(dirname "$0")/.." || exit 2

runs=${STRESS_RUNS:-3}
burners=${STRESS_BURNERS:-$(nproc 2>/dev/null || echo 2)}
logs=$(mktemp -d "${TMPDIR:-/tmp}/modelgate-stress-XXXXXX")
pids=""

stop_burners() {
  for pid in $pids; do kill "$pid" 2>/dev/null; done
  pids=""
}
trap 'stop_burners' EXIT
trap 'stop_burners; exit 130' INT
trap 'stop_burners; exit 143' TERM

i=0
while [ "$i" -lt "$burners" ]; do
  node -e 'for (;;) {}' &
  pids="$pids $!"
  i=$((i + 1))
done
echo "test:stress: $runs runs of npm test with $burners busy processes (PIDs$pids); logs in $logs"

failed=0
run=1
while [ "$run" -le "$runs" ]; do
  start=$(date +%s)
  node --import tsx scripts/test.ts --test-reporter=tap "$@" >"$logs/run-$run.log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  grep -E '^ *not ok |^npm test: .* did not finish' "$logs/run-$run.log" | grep -v '# SKIP' >"$logs/run-$run.failures"
  if [ "$rc" -eq 0 ]; then
    echo "run $run: passed in ${took}s"
  else
    failed=$((failed + 1))
    echo "run $run: FAILED (exit $rc) in ${took}s"
    sed 's/^ */    /' "$logs/run-$run.failures"
  fi
  # npm test's own summary: slowest files, and the failed ones listed under it.
  awk '/^npm test: /{f = /files failed:$/; print "    " substr($0, 11); next} f && /^  /{print "    " $0; next} {f = 0}' "$logs/run-$run.log"
  run=$((run + 1))
done

stop_burners
if [ "$failed" -eq 0 ]; then
  echo "test:stress: all $runs runs passed under load"
else
  echo "test:stress: $failed of $runs runs failed under load; full output in $logs"
  exit 1
fi
