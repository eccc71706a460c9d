#!/usr/bin/env bash
# End to end: Postfix's smtp-source against the example server
# (examples/server.rs, delivering into a Maildir) and against Postfix's
# smtp-sink (which accepts and drops), on loopback, in the same run.
#
#   benches/e2e.sh                 # 3 runs each, Maildir on /dev/shm
#   RUNS=5 MESSAGES=20000 benches/e2e.sh
#   MAILDIR_BASE=/var/tmp benches/e2e.sh   # Maildir on a real disk (fsync)
#
# The load is the issue's: smtp-source -s 10 -m 20000 -l 1000 -d
# (10 parallel sessions, 20,000 messages of 1,000 octets of body, many
# messages per connection). Each run is timed from outside, wall clock
# from the start of smtp-source to its exit; the figure is the median over
# RUNS, in messages per second. The two servers alternate run by run so
# that background load falls on both alike.
#
# A third server, for a like-for-like view of the Maildir's cost:
# smtp-sink with -d, which writes each message to a file of its own (no
# fsync, no rename). The goal compares against the plain smtp-sink.
#
# Everything started here is stopped here (trap), every wait is bounded,
# and only 127.0.0.1 is used.
set -euo pipefail

RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-10}
LENGTH=${LENGTH:-1000}
MAILDIR_BASE=${MAILDIR_BASE:-/dev/shm}
# Upper bound for one smtp-source run, in seconds.
RUN_LIMIT=${RUN_LIMIT:-600}

cd "$(dirname "$0")/.."
for tool in smtp-source smtp-sink timeout python3; do
    command -v "$tool" >/dev/null || { echo "e2e: $tool not found" >&2; exit 1; }
done

cargo build --release --example server --quiet
SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/examples/server

WORK=$(mktemp -d "$MAILDIR_BASE/esmtp-e2e.XXXXXX")
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        # Give each a few seconds for a clean exit, then insist.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits (at most 10 s) until something accepts on 127.0.0.1:$1.
wait_port() {
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "e2e: nothing listening on port $1" >&2
    return 1
}

SINK_PORT=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 100 >"$WORK/sink.out" 2>&1 &
PIDS+=($!)
wait_port "$SINK_PORT"

# smtp-sink drops to nobody, which must be able to write the dumps.
chmod 755 "$WORK"
mkdir -m 777 "$WORK/dump"
DUMP_PORT=$(free_port)
smtp-sink -u nobody -d "$WORK/dump/%H%M%S." -c "127.0.0.1:$DUMP_PORT" 100 \
    >"$WORK/dump-sink.out" 2>&1 &
PIDS+=($!)
wait_port "$DUMP_PORT"

ESMTP_PORT=$(free_port)
"$SERVER_BIN" --listen "127.0.0.1:$ESMTP_PORT" --maildir "$WORK/maildir" \
    --hostname mx.example.org >"$WORK/server.out" 2>"$WORK/server.err" &
PIDS+=($!)
wait_port "$ESMTP_PORT"
grep -h '^delivering' "$WORK/server.err" || true

# One timed smtp-source run against port $1; prints seconds.
timed_run() {
    local start end
    start=$(date +%s.%N)
    if ! timeout "$RUN_LIMIT" smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$LENGTH" -d \
        "127.0.0.1:$1" >"$WORK/source.out" 2>&1; then
        echo "e2e: smtp-source failed against port $1:" >&2
        cat "$WORK/source.out" >&2
        exit 1
    fi
    end=$(date +%s.%N)
    python3 -c "print(f'{$end - $start:.3f}')"
}

median() {
    python3 -c 'import statistics,sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"
}

echo "smtp-source -s $SESSIONS -m $MESSAGES -l $LENGTH -d, $RUNS runs each; Maildir under $MAILDIR_BASE"
echo "machine: $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
sink_times=()
dump_times=()
esmtp_times=()
for run in $(seq "$RUNS"); do
    t=$(timed_run "$SINK_PORT")
    sink_times+=("$t")
    echo "run $run smtp-sink:      ${t}s"

    find "$WORK/dump" -mindepth 1 -delete
    t=$(timed_run "$DUMP_PORT")
    dump_times+=("$t")
    dumped=$(find "$WORK/dump" -type f | wc -l)
    echo "run $run smtp-sink -d:   ${t}s, $dumped messages dumped"
    if [ "$dumped" -ne "$MESSAGES" ]; then
        echo "e2e: expected $MESSAGES dumps from smtp-sink -d, found $dumped" >&2
        exit 1
    fi
    find "$WORK/dump" -mindepth 1 -delete

    rm -rf "$WORK/maildir/new" "$WORK/maildir/tmp" "$WORK/maildir/cur"
    mkdir -p "$WORK/maildir/new" "$WORK/maildir/tmp" "$WORK/maildir/cur"
    t=$(timed_run "$ESMTP_PORT")
    esmtp_times+=("$t")
    # Every 250 is a message renamed into new/ before the reply.
    delivered=$(find "$WORK/maildir/new" -type f | wc -l)
    echo "run $run esmtp example: ${t}s, $delivered messages in Maildir new/"
    if [ "$delivered" -ne "$MESSAGES" ]; then
        echo "e2e: expected $MESSAGES messages in the Maildir, found $delivered" >&2
        exit 1
    fi
done

sink_med=$(median "${sink_times[@]}")
dump_med=$(median "${dump_times[@]}")
esmtp_med=$(median "${esmtp_times[@]}")
python3 - "$MESSAGES" "$sink_med" "$dump_med" "$esmtp_med" <<'EOF'
import sys
n = int(sys.argv[1])
sink, dump, esmtp = (float(x) for x in sys.argv[2:5])
print(f"median smtp-sink:      {sink:.3f} s  {n / sink:8.0f} messages/s")
print(f"median smtp-sink -d:   {dump:.3f} s  {n / dump:8.0f} messages/s")
print(f"median esmtp example:  {esmtp:.3f} s  {n / esmtp:8.0f} messages/s")
print(f"esmtp example / smtp-sink throughput: {sink / esmtp:.2f}x")
print(f"esmtp example / smtp-sink -d throughput: {dump / esmtp:.2f}x")
EOF
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
