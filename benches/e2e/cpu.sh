#!/usr/bin/env bash
# CPU time a server spends per smtp-source load, beside the load
# generator's own: on a 2-core machine the two share the cores, so
# messages/s measures the pair; the server's CPU time is its own cost.
#
#   benches/e2e/cpu.sh LABEL PORT SERVER-COMMAND...
#
# starts the server command (which must listen on 127.0.0.1:PORT), runs
# `smtp-source -s 10 -m 20000 -l 1000` against it with reused connections
# (-d) and then with a new connection per message, and prints for each the
# load generator's user/system/wall seconds and the server process's CPU
# time (utime + stime of every thread, from /proc). Examples:
#
#   benches/e2e/cpu.sh sink 2601 smtp-sink -u nobody -c 127.0.0.1:2601 100
#   benches/e2e/cpu.sh discard 2602 target/release/examples/server \
#       --listen 127.0.0.1:2602 --discard
set -euo pipefail

label=$1 port=$2
shift 2
MESSAGES="${MESSAGES:-20000}"
hz=$(getconf CLK_TCK)

"$@" >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for load in -d ""; do
    t0=$(ticks)
    s=$({ /usr/bin/time -f "%U %S %e" smtp-source $load -s 10 -m "$MESSAGES" \
        -l 1000 "127.0.0.1:$port"; } 2>&1 | tail -1)
    t1=$(ticks)
    printf '%s %s: smtp-source user/sys/wall %s s; server CPU %d ms\n' \
        "$label" "${load:-new}" "$s" $(((t1 - t0) * 1000 / hz))
done
