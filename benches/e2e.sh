#!/usr/bin/env bash
# End to end: every anchor of "durable delivery at disk speed" in one run.
#
# Postfix's smtp-source loads, on loopback, in turn and round after round:
#
#   sink      smtp-sink, which answers and stores nothing
#   discard   the example server with --discard (stores nothing); skipped
#             with a message when the example has no such flag
#   dump      smtp-sink -d, writing each message to a file on tmpfs (no
#             fsync, no rename)
#   tmpfs     the example server, --maildir on tmpfs ($TMPFS_BASE)
#   disk      the example server, --maildir on a disk ($MAILDIR_BASE)
#   postfix   a private Postfix instance whose smtpd puts every message on
#             its hold queue (queue on $MAILDIR_BASE): Postfix's own
#             durable accept, nothing delivered
#
# each with reused connections (smtp-source -d) and with a new connection
# per message, and runs the floor program (benches/e2e/floor.c, built here
# with gcc) on the same disk and on tmpfs: the same messages written into
# a tmp/ -> new/ layout serially, from threads, in groups with one flush
# per group (syncfs, or concurrent fsyncs), and without any fsync.
#
# Each run also reads the CPU time the server's process used (smtp-sink's
# and the example's; Postfix runs as several processes and has none): on
# a machine of few cores the load generator shares them with the server,
# so messages/s measures the pair, and the CPU time per message is the
# server's own cost, printed with the anchor-over-server ratios.
#
# It ends with the medians and the ratios the goals name, each with its
# goal and whether this run met it: --discard / smtp-sink (1.2x), Maildir
# on the disk / the group-commit floor (0.8x) and / Postfix (2x), Maildir
# on tmpfs / smtp-sink -d (1.2x). The floor in that ratio is the fastest
# durable way measured to flush SESSIONS messages at once (a group and one
# syncfs, a group and concurrent fsyncs, or SESSIONS threads each
# fsyncing): SESSIONS sessions that do not pipeline never have more
# messages waiting for their 250.
#
#   benches/e2e.sh                              # everything, 3 rounds
#   ANCHORS="disk postfix" benches/e2e.sh       # just the disk part
#   RUNS=5 MESSAGES=5000 MAILDIR_BASE=/mnt/ssd benches/e2e.sh
#
# Knobs (environment):
#   RUNS            rounds; the figures are medians over them (3)
#   MESSAGES        messages per smtp-source run (20000)
#   SESSIONS        smtp-source's parallel sessions (10)
#   LENGTH          octets of body per message (1000)
#   MAILDIR_BASE    directory on the disk under test (/var/tmp)
#   TMPFS_BASE      directory on a tmpfs (/dev/shm)
#   ANCHORS         any of: discard disk postfix tmpfs (all four); the
#                   smtp-sink yardstick always runs
#   LOADS           reused new (both): smtp-source with -d, without
#   FLOOR_MESSAGES  messages per floor mode on the disk (MESSAGES / 4, at
#                   least 1000; on tmpfs the floor writes MESSAGES)
#   FLOOR_GROUPS    group sizes for the floor's group modes (10 50 200;
#                   SESSIONS is always added)
#   RUN_LIMIT       seconds one smtp-source or floor run may take (600)
#   SERVER_BIN      an example server binary to measure instead of
#                   building this checkout's (e.g. another branch's)
#
# The load is the issue's: smtp-source -s 10 -m 20000 -l 1000 [-d].
# Each smtp-source run is timed from outside (wall clock, start to exit)
# and every count is checked after it: smtp-source itself exits non-zero
# on any reply that is not 2xx, smtp-sink's counter must have moved by
# MESSAGES, the Maildir's new/ (or the dump directory, or Postfix's hold
# queue) must hold exactly MESSAGES files. Between runs the storage is
# emptied and synced (sync -f), so that one run's clean-up does not fall
# on the next. The servers' logs go to tmpfs, whatever they serve from.
#
# Postfix needs root (its daemons run as postfix); without root that
# anchor is skipped with a message. Everything started here is stopped
# here (trap, also on error or Ctrl-C), every wait is bounded, and only
# 127.0.0.1 is used. The machine is shared: quote the ratios, which are
# taken within this one run.
set -euo pipefail

RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-10}
LENGTH=${LENGTH:-1000}
MAILDIR_BASE=${MAILDIR_BASE:-/var/tmp}
TMPFS_BASE=${TMPFS_BASE:-/dev/shm}
ANCHORS=${ANCHORS:-discard disk postfix tmpfs}
LOADS=${LOADS:-reused new}
FLOOR_MESSAGES=${FLOOR_MESSAGES:-$((MESSAGES / 4 > 1000 ? MESSAGES / 4 : 1000))}
FLOOR_GROUPS=${FLOOR_GROUPS:-10 50 200}
RUN_LIMIT=${RUN_LIMIT:-600}

cd "$(dirname "$0")/.."
for tool in smtp-source smtp-sink timeout python3 gcc stat sync; do
    command -v "$tool" >/dev/null || { echo "e2e: $tool not found" >&2; exit 1; }
done

ANCHORS=${ANCHORS//,/ }
LOADS=${LOADS//,/ }
for a in $ANCHORS; do
    case $a in
    discard | disk | postfix | tmpfs) ;;
    *) echo "e2e: unknown anchor '$a' (expected discard, disk, postfix, tmpfs)" >&2; exit 2 ;;
    esac
done
for l in $LOADS; do
    case $l in
    reused | new) ;;
    *) echo "e2e: unknown load '$l' (expected reused, new)" >&2; exit 2 ;;
    esac
done
want() { [[ " $ANCHORS " == *" $1 "* ]]; }

if want postfix; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "e2e: skipping the postfix anchor: a private Postfix instance needs root" >&2
        ANCHORS=${ANCHORS//postfix/}
    elif ! command -v postfix >/dev/null || ! command -v postsuper >/dev/null; then
        echo "e2e: skipping the postfix anchor: postfix or postsuper not found" >&2
        ANCHORS=${ANCHORS//postfix/}
    fi
fi
if { want disk || want postfix; } && [ "$(stat -f -c %T "$MAILDIR_BASE")" = tmpfs ]; then
    echo "e2e: note: MAILDIR_BASE=$MAILDIR_BASE is a tmpfs, so the disk rows are not on a disk" >&2
fi

if [ -n "${SERVER_BIN:-}" ]; then
    [ -x "$SERVER_BIN" ] || { echo "e2e: SERVER_BIN=$SERVER_BIN is not executable" >&2; exit 2; }
    case $SERVER_BIN in /*) ;; *) SERVER_BIN=$PWD/$SERVER_BIN ;; esac
    SERVER_FROM="$SERVER_BIN (SERVER_BIN)"
else
    cargo build --release --example server --quiet
    TARGET=${CARGO_TARGET_DIR:-target}
    case $TARGET in /*) ;; *) TARGET=$PWD/$TARGET ;; esac
    SERVER_BIN=$TARGET/release/examples/server
    SERVER_FROM="examples/server.rs at $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- examples src 2>/dev/null || echo ' (modified)')"
fi

# Everything lives in two directories of our own, removed on exit.
SHM=""
DISK=""
PIDS=()
POSTFIX_CONF=""
cleanup() {
    local status=$?
    set +e
    if [ -n "$POSTFIX_CONF" ]; then
        timeout 30 postfix -c "$POSTFIX_CONF" stop >/dev/null 2>&1
        local master_pid
        master_pid=$(cat "$DISK/postfix/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
        if [ -n "$master_pid" ]; then
            for _ in $(seq 100); do
                kill -0 "$master_pid" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$master_pid" 2>/dev/null; then
                timeout 30 postfix -c "$POSTFIX_CONF" abort >/dev/null 2>&1
                kill -9 "$master_pid" 2>/dev/null
            fi
        fi
    fi
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        # Give each a few seconds for a clean exit, then insist.
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    [ -n "$SHM" ] && rm -rf "$SHM"
    [ -n "$DISK" ] && rm -rf "$DISK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SHM=$(mktemp -d "$TMPFS_BASE/esmtp-e2e.XXXXXX")
# smtp-sink drops to nobody and Postfix runs as postfix: both must reach
# their directories below ours.
chmod 755 "$SHM"
if want disk || want postfix; then
    DISK=$(mktemp -d "$MAILDIR_BASE/esmtp-e2e.XXXXXX")
    chmod 755 "$DISK"
fi

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

fs_type() { stat -f -c %T "$1"; }

# --- the servers ------------------------------------------------------------

declare -A PORT    # server -> port
declare -A STORE   # server -> directory whose files are the messages
declare -A SPID    # server -> its one process, whose CPU time each run reads
SERVERS=(sink)

SINK_OUT=$SHM/sink.out
PORT[sink]=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:${PORT[sink]}" 100 >"$SINK_OUT" 2>&1 &
PIDS+=($!)
SPID[sink]=$!
wait_port "${PORT[sink]}"

# Starts the example server as server $1 with the further arguments,
# logging to $SHM/$1.err (appending, so the log can be emptied between
# runs), in $SHM/$1.cwd (where --discard would put anything it wrote).
start_example() {
    local key=$1
    shift
    PORT[$key]=$(free_port)
    mkdir -p "$SHM/$key.cwd"
    (cd "$SHM/$key.cwd" && exec "$SERVER_BIN" --listen "127.0.0.1:${PORT[$key]}" \
        --hostname mx.example.org "$@" >>"$SHM/$key.err" 2>&1) &
    PIDS+=($!)
    SPID[$key]=$!
    wait_port "${PORT[$key]}" || { cat "$SHM/$key.err" >&2; exit 1; }
    # What it said at start-up (the fsync it measured, where it delivers).
    sleep 0.2
    head -n 20 "$SHM/$key.err" >"$SHM/$key.startup"
    SERVERS+=("$key")
}

DISCARD_NOTE=""
if want discard; then
    # (Captured first: a grep -q closing the pipe early would make the
    # server's exit status, under pipefail, look like a failure.)
    help=$("$SERVER_BIN" --help 2>&1 || true)
    if [[ $help == *--discard* ]]; then
        start_example discard --discard
    else
        DISCARD_NOTE="the example server has no --discard flag (\`server --help\` does not list it): discard rows skipped"
        echo "e2e: $DISCARD_NOTE" >&2
    fi
fi

if want tmpfs; then
    mkdir -m 777 "$SHM/dump"
    PORT[dump]=$(free_port)
    smtp-sink -u nobody -d "$SHM/dump/%H%M%S." -c "127.0.0.1:${PORT[dump]}" 100 \
        >"$SHM/dump.out" 2>&1 &
    PIDS+=($!)
    SPID[dump]=$!
    wait_port "${PORT[dump]}"
    SERVERS+=(dump)
    STORE[dump]=$SHM/dump

    start_example tmpfs --maildir "$SHM/maildir"
    STORE[tmpfs]=$SHM/maildir/new
fi

if want disk; then
    start_example disk --maildir "$DISK/maildir"
    STORE[disk]=$DISK/maildir/new
fi

# A private Postfix instance (as tests/common/postfix.rs starts one):
# configuration, data and log on tmpfs, the queue on the disk under test.
# smtpd holds every message (HOLD at DATA): cleanup writes the queue file
# and fsyncs it before smtpd answers 250, and nothing is delivered.
if want postfix; then
    PF=$DISK/postfix
    POSTFIX_CONF=$SHM/postfix-conf
    mkdir -p "$POSTFIX_CONF" "$SHM/postfix-data" "$PF/queue"
    chown postfix "$SHM/postfix-data"
    PORT[postfix]=$(free_port)
    cat >"$POSTFIX_CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $SHM/postfix-data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-e2e.esmtp.test
mydomain = esmtp.test
myorigin = \$myhostname
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_client_restrictions =
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_data_restrictions = check_client_access static:HOLD
# Flow control waits for the queue manager to take mail from the incoming
# queue, which held mail never reaches: without this each message would
# wait up to a second for a token.
in_flow_delay = 0s
receive_override_options = no_address_mappings, no_header_body_checks, no_unknown_recipient_checks, no_milters
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
maillog_file = $SHM/postfix-maillog
maillog_file_prefixes = $SHM
EOF
    cat >"$POSTFIX_CONF/master.cf" <<EOF
127.0.0.1:${PORT[postfix]} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
proxymap  unix  - - n - - proxymap
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
error     unix  - - n - - error
discard   unix  - - n - - discard
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
EOF
    timeout 60 postfix -c "$POSTFIX_CONF" check
    timeout 60 postfix -c "$POSTFIX_CONF" start 2>"$SHM/postfix-start.err" ||
        { cat "$SHM/postfix-start.err" >&2; exit 1; }
    wait_port "${PORT[postfix]}" || { cat "$SHM/postfix-maillog" >&2 2>/dev/null; exit 1; }
    SERVERS+=(postfix)
    STORE[postfix]=$PF/queue/hold
fi

# --- runs and checks ----------------------------------------------------------

RESULTS=$SHM/results.tsv
: >"$RESULTS"

# The messages server $1 has stored so far.
stored() {
    find "${STORE[$1]}" -type f | wc -l
}

# smtp-sink's running message counter.
sink_count() {
    tr '\r' '\n' <"$SINK_OUT" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -n 1
}

# Empties what server $1 stored and syncs that file system, so that the
# next run starts clean.
reset_store() {
    case $1 in
    postfix)
        timeout 120 postsuper -c "$POSTFIX_CONF" -d ALL hold >/dev/null 2>&1
        find "${STORE[postfix]}" -type f -delete
        sync -f "${STORE[postfix]}"
        ;;
    dump | tmpfs | disk)
        find "${STORE[$1]}" -mindepth 1 -delete
        sync -f "${STORE[$1]}"
        ;;
    esac
    if [ -f "$SHM/$1.err" ]; then : >"$SHM/$1.err"; fi
}

# The CPU time (user + system, every thread) server $1's process has used,
# in milliseconds; "-" for a server of several processes (Postfix).
CLK_TCK=$(getconf CLK_TCK)
cpu_ms() {
    local pid=${SPID[$1]:-}
    if [ -z "$pid" ] || [ ! -r "/proc/$pid/stat" ]; then
        echo -
        return
    fi
    awk -v hz="$CLK_TCK" '{printf "%d\n", ($14 + $15) * 1000 / hz}' "/proc/$pid/stat"
}

# One smtp-source run: server $1, load $2 (reused or new), $3 messages.
# Checks the count and prints the seconds it took and the CPU time the
# server used meanwhile, in milliseconds ("-" when not known). On two
# cores the load generator shares the machine with the server, so
# messages/s measures the pair; the CPU time is the server's own cost.
timed_run() {
    local key=$1 load=$2 n=$3 start end before got cpu0 cpu1
    local flags=(-s "$SESSIONS" -m "$n" -l "$LENGTH")
    [ "$load" = reused ] && flags+=(-d)
    before=$([ "$key" = sink ] && sink_count || echo 0)
    cpu0=$(cpu_ms "$key")
    start=$(date +%s.%N)
    if ! timeout "$RUN_LIMIT" smtp-source "${flags[@]}" "127.0.0.1:${PORT[$key]}" \
        >"$SHM/source.out" 2>&1; then
        echo "e2e: smtp-source ${flags[*]} failed against $key:" >&2
        cat "$SHM/source.out" >&2
        tail -n 20 "$SHM/$key.err" >&2 2>/dev/null || true
        exit 1
    fi
    end=$(date +%s.%N)
    cpu1=$(cpu_ms "$key")
    case $key in
    sink) got=$(($(sink_count) - before)) ;;
    # smtp-source exits non-zero on any reply but 2xx: every message was
    # accepted. --discard must have stored nothing.
    discard) got=$n
        if [ -n "$(find "$SHM/discard.cwd" -type f -print -quit)" ]; then
            echo "e2e: server --discard left files in $SHM/discard.cwd" >&2
            exit 1
        fi ;;
    *) got=$(stored "$key") ;;
    esac
    if [ "$got" -ne "$n" ]; then
        echo "e2e: $key ($load): $n messages sent, $got stored or counted" >&2
        exit 1
    fi
    if [ "$cpu0" = - ] || [ "$cpu1" = - ]; then
        python3 -c "print(f'{$end - $start:.3f} -')"
    else
        python3 -c "print(f'{$end - $start:.3f} {$cpu1 - $cpu0}')"
    fi
}

# Builds the floor program.
FLOOR_BIN=$SHM/floor
gcc -O2 -Wall -Wextra -pthread -o "$FLOOR_BIN" benches/e2e/floor.c

GROUPS_LIST=$(printf '%s\n' "$SESSIONS" $FLOOR_GROUPS | sort -n -u | tr '\n' ' ')
DISK_MODES="probe serial threads"
for g in $GROUPS_LIST; do DISK_MODES+=" syncfs:$g fsyncs:$g"; done
DISK_MODES+=" syncfs2:$SESSIONS nosync"
TMPFS_MODES="probe serial threads syncfs:$SESSIONS fsyncs:$SESSIONS nosync"

# The size of one delivered message, for the floor: as the example server
# stores them (with its Received: field), found by a warm-up run.
MESSAGE_SIZE=$((LENGTH + 300))

# floor STORAGE DIR COUNT MODES...: one floor run, recorded.
floor_run() {
    local storage=$1 dir=$2 n=$3
    shift 3
    local out
    if ! out=$(timeout "$RUN_LIMIT" "$FLOOR_BIN" "$dir" "$MESSAGE_SIZE" "$n" \
        "$SESSIONS" "$@"); then
        echo "e2e: floor on $storage failed" >&2
        exit 1
    fi
    while read -r what mode group threads count secs _rate; do
        if [ "$what" = probe ]; then
            printf 'probe\t%s\t%s\t%s\n' "$round" "$storage" "$group" >>"$RESULTS"
        else
            printf 'floor\t%s\t%s\t%s:%s\t%s\t%s\t%s\n' "$round" "$storage" "$mode" "$group" \
                "$threads" "$count" "$secs" >>"$RESULTS"
        fi
    done <<<"$out"
}

echo "e2e: CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "e2e: server: $SERVER_FROM"
echo "e2e: smtp-source -s $SESSIONS -m $MESSAGES -l $LENGTH, loads: $LOADS; $RUNS rounds; anchors: $ANCHORS"
[ -n "$DISK" ] && echo "e2e: disk: $MAILDIR_BASE ($(fs_type "$MAILDIR_BASE"))"
want tmpfs && echo "e2e: tmpfs: $TMPFS_BASE ($(fs_type "$TMPFS_BASE"))"

# Warm-up: a few messages through each server (and a check that it
# stores them), which also gives the size of a delivered message.
for key in "${SERVERS[@]}"; do
    timed_run "$key" reused 200 >/dev/null
    if [ "$key" = disk ] || [ "$key" = tmpfs ]; then
        MESSAGE_SIZE=$(find "${STORE[$key]}" -type f -printf '%s\n' | sort -n | tail -n 1)
    fi
    reset_store "$key"
done
echo "e2e: warm-up done; the floor writes messages of $MESSAGE_SIZE octets"

for round in $(seq "$RUNS"); do
    # Rotate the order, so that no server always follows the same one.
    n=${#SERVERS[@]}
    order=()
    for i in $(seq 0 $((n - 1))); do
        order+=("${SERVERS[$(((i + round - 1) % n))]}")
    done
    for load in $LOADS; do
        for key in "${order[@]}"; do
            read -r t cpu <<<"$(timed_run "$key" "$load" "$MESSAGES")"
            printf 'run\t%s\t%s\t%s\t%s\t%s\n' "$round" "$key" "$load" "$t" "$cpu" >>"$RESULTS"
            echo "round $round $load $key: ${t}s, server CPU ${cpu} ms"
            reset_store "$key"
        done
    done
    if want disk; then
        floor_run disk "$DISK" "$FLOOR_MESSAGES" $DISK_MODES
        echo "round $round floor on disk done"
    fi
    if want tmpfs; then
        floor_run tmpfs "$SHM" "$MESSAGES" $TMPFS_MODES
        echo "round $round floor on tmpfs done"
    fi
done

# --- the report ---------------------------------------------------------------

for key in disk tmpfs discard; do
    if [ -f "$SHM/$key.startup" ]; then
        printf 'startup\t%s\t%s\n' "$key" \
            "$(grep -i -m 1 -E 'fsync|deliver' "$SHM/$key.startup" || echo '(nothing logged about fsync)')" \
            >>"$RESULTS"
    fi
done
DISK_FS=$([ -n "$DISK" ] && fs_type "$MAILDIR_BASE" || echo -)
TMPFS_FS=$(fs_type "$TMPFS_BASE")

python3 - "$RESULTS" "$MESSAGES" "$MESSAGE_SIZE" "$SESSIONS" "$MAILDIR_BASE" "$DISK_FS" \
    "$TMPFS_BASE" "$TMPFS_FS" "$DISCARD_NOTE" <<'EOF'
import statistics, sys
from collections import defaultdict

path, n, size, sessions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
disk_base, disk_fs, tmpfs_base, tmpfs_fs, discard_note = sys.argv[5:10]
rates = defaultdict(dict)     # (server, load) or (storage, floor mode) -> {round: messages/s}
secs = defaultdict(list)      # (server, load) -> seconds, in order
cpu = defaultdict(dict)       # (server, load) -> {round: server CPU ms per 1,000 messages}
threads, floor_counts = {}, {}
probes = defaultdict(list)    # storage -> fsync us
startup = {}
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[0] == "run":
        rates[(f[2], f[3])][int(f[1])] = n / float(f[4])
        secs[(f[2], f[3])].append(f[4])
        if len(f) > 5 and f[5] != "-":
            cpu[(f[2], f[3])][int(f[1])] = float(f[5]) * 1000 / n
    elif f[0] == "floor":
        rates[(f[2], "floor " + f[3])][int(f[1])] = int(f[5]) / float(f[6])
        threads[f[3]] = f[4]
        floor_counts[f[2]] = int(f[5])
    elif f[0] == "probe":
        probes[f[2]].append(float(f[3]))
    elif f[0] == "startup":
        startup[f[1]] = f[2]

def med(key):
    r = rates.get(key)
    return statistics.median(r.values()) if r else None

def cell(key, width):
    r = rates.get(key)
    if not r:
        return f"{'-':>{width}}"
    v = r.values()
    return f"{f'{statistics.median(v):,.0f} ({min(v):,.0f}-{max(v):,.0f})':>{width}}"

names = {
    "sink": "smtp-sink (stores nothing)",
    "discard": "server --discard (stores nothing)",
    "dump": f"smtp-sink -d, a file per message on {tmpfs_fs}",
    "tmpfs": f"server --maildir on {tmpfs_fs} ({tmpfs_base})",
    "disk": f"server --maildir on {disk_fs} ({disk_base})",
    "postfix": f"Postfix smtpd into its hold queue on {disk_fs}",
}
loads = [l for l in ("reused", "new") if any(k[1] == l for k in rates)]
head = {"reused": "reused connections (-d)", "new": "new connection per message"}
short = {"reused": "reused", "new": "new conn."}
rounds = max((len(v) for v in rates.values()), default=0)
print()
print(f"messages/s, median (min-max) of {rounds} rounds, smtp-source -s {sessions} -m {n}:")
print(f"  {'server':<50}" + "".join(f"{head[l]:>30}" for l in loads))
for key in names:
    if any((key, l) in rates for l in loads):
        print(f"  {names[key]:<50}" + "".join(cell((key, l), 30) for l in loads))
if discard_note:
    print(f"  ({discard_note})")

for storage, fs, base in (("disk", disk_fs, disk_base), ("tmpfs", tmpfs_fs, tmpfs_base)):
    modes = [k[1] for k in rates if k[0] == storage and k[1].startswith("floor ")]
    if not modes:
        continue
    print()
    print(f"floor on {fs} ({base}), {floor_counts[storage]} messages of {size} octets "
          f"per mode, messages/s, median (min-max):")
    for mode in modes:
        kind, group = mode[len("floor "):].split(":")
        t = threads[mode[len("floor "):]]
        what = {
            "serial": "serial: create, write, fsync, rename, fsync new/",
            "threads": f"the same from {t} threads",
            "syncfs": f"groups of {group}, then one syncfs",
            "syncfs2": f"groups of {group}: syncfs, renames, syncfs",
            "fsyncs": f"groups of {group}, {t} concurrent fsyncs, fsync new/",
            "nosync": "no fsync at all",
        }[kind]
        print(f"  {what:<56}{cell((storage, mode), 30)}")

if startup.keys() & {"disk", "tmpfs"} or probes:
    print()
    print("storage and fsync cost:")
for storage, fs, base in (("disk", disk_fs, disk_base), ("tmpfs", tmpfs_fs, tmpfs_base)):
    if storage not in startup and storage not in probes:
        continue
    line = f"  {storage}: {base} is {fs}"
    if probes.get(storage):
        p = probes[storage]
        line += (f"; the floor's probe (fsync of a file + new/, median of 9) "
                 f"{statistics.median(p):.1f} us ({min(p):.1f}-{max(p):.1f} over the rounds)")
    print(line)
    if storage in startup:
        print(f"    example server at start-up: {startup[storage]}")

# The group-commit floor the goal names: SESSIONS messages made durable
# together, since smtp-source's sessions each wait for their 250 before
# sending again (no pipelining), so no server can have more than SESSIONS
# messages waiting for one flush. Three ways to flush them are measured:
# a group then one syncfs, a group then concurrent fsyncs, and SESSIONS
# threads each making its own message durable (their fsyncs meet in the
# journal's commits, as Postfix's cleanup processes' do); the anchor is
# the fastest in this run.
durable = {f"floor syncfs:{sessions}": f"groups of {sessions}, one syncfs",
           f"floor fsyncs:{sessions}": f"groups of {sessions}, concurrent fsyncs",
           "floor threads:1": f"{sessions} threads, each fsyncing"}
durable = {k: v for k, v in durable.items() if med(("disk", k))}
anchor = max(durable, key=lambda k: med(("disk", k)), default=None)

print()
print("ratios of the medians (per round: min-max); goal; met?")
def ratio(label, a, b, goal):
    if a not in rates or b not in rates:
        return
    x = med(a) / med(b)
    per = [rates[a][r] / rates[b][r] for r in rates[a] if r in rates[b]]
    spread = f"({min(per):.2f}-{max(per):.2f})" if per else ""
    print(f"  {label:<64}{x:>6.2f}x {spread:>13}  goal >= {goal}x: "
          f"{'met' if x >= goal else 'NOT met'}")
for l in loads:
    ratio(f"server --discard / smtp-sink, {short[l]}", ("discard", l), ("sink", l), 1.2)
if anchor:
    for l in loads:
        ratio(f"maildir on disk / floor ({durable[anchor]}), {short[l]}",
              ("disk", l), ("disk", anchor), 0.8)
for l in loads:
    ratio(f"maildir on disk / Postfix durable accept, {short[l]}", ("disk", l), ("postfix", l), 2)
for l in loads:
    ratio(f"maildir on tmpfs / smtp-sink -d, {short[l]}", ("tmpfs", l), ("dump", l), 1.2)
if anchor:
    others = ", ".join(f"{v} {med(('disk', 'reused'))/med(('disk', k)):.2f}x"
                       for k, v in durable.items() if k != anchor and ("disk", "reused") in rates)
    print(f"  (the floor anchor: the fastest of the durable ways to flush {sessions} messages "
          f"at once, {sessions} being the most that {sessions} sessions which do not pipeline "
          f"can have waiting; against the others, reused: {others or '-'})")

if cpu:
    print()
    print("server CPU time per 1,000 messages, ms (user + system of its process), median (min-max);")
    print("the cost of the server alone, whatever the load generator takes of the same cores:")
    print(f"  {'server':<50}" + "".join(f"{head[l]:>30}" for l in loads))
    for key in names:
        if any((key, l) in cpu for l in loads):
            row = ""
            for l in loads:
                c = cpu.get((key, l))
                v = c.values() if c else None
                row += (f"{f'{statistics.median(v):,.1f} ({min(v):,.1f}-{max(v):,.1f})':>30}"
                        if v else f"{'-':>30}")
            print(f"  {names[key]:<50}" + row)
    print("  CPU per message, the anchor over the server (> 1: the server costs less; no goal):")
    for a, b, label in (("sink", "discard", "smtp-sink / server --discard"),
                        ("dump", "tmpfs", "smtp-sink -d / maildir on tmpfs")):
        for l in loads:
            if (a, l) in cpu and (b, l) in cpu:
                x = statistics.median(cpu[(a, l)].values()) / statistics.median(cpu[(b, l)].values())
                print(f"    {label + ', ' + short[l]:<62}{x:>6.2f}x")

print()
print("seconds per run, in order:")
for (key, load), t in secs.items():
    print(f"  {key} {load}: {' '.join(t)}")
EOF
echo "e2e: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
