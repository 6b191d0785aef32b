#!/usr/bin/env bash
# Cleave's copy benchmark: one service (orders + order_items, next to pagila) copied by cleave and by the
# tools people use today, side by side in one run, on two local PostgreSQL clusters (source and target).
#
#   bench/run.sh                              # 5M orders, 15M order_items, 3 runs each, median reported
#   ORDERS=1000000 ITEMS=3000000 bench/run.sh # smaller
#
# Then verifies the copy: `cleave verify` against one sequential scan of the same tables on both servers and
# against `pgcopydb compare data`, and verify's memory at 1x, 2x and 4x the rows, clean and with differences
# spread over every part of the table.
#
# Writes docs/PERFORMANCE.md (or $OUT). Needs root or the postgres user; installs pgcopydb and GNU time.
# PEERS=0 skips the other copy tools (for a quick look at cleave's own figures).
# BASELINE=<git revision> also builds that revision's cleave and times its copy in the same run, each of its runs
# right after one of this cleave's, so a change can be shown no slower than before on the same machine state.
set -euo pipefail
set -a  # every variable below is exported: the timed commands run in `bash -c`
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ORDERS=${ORDERS:-5000000}
ITEMS=${ITEMS:-15000000}
RUNS=${RUNS:-3}
JOBS=${JOBS:-$(nproc)}
MEMROWS=${MEMROWS:-1000000}
PEERS=${PEERS:-1}
BASELINE=${BASELINE:-}
PIPE_DATA=""
OUT=${OUT:-$ROOT/docs/PERFORMANCE.md}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
SRC_PORT=56101
DST_PORT=56102

need() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || MISSING="$MISSING $1"; }
MISSING=""; need pgcopydb; need time; need bc
if [ -n "$MISSING" ]; then apt-get update -q && apt-get install -y -q $MISSING; fi

(cd "$ROOT" && swift build -c release --product cleave >/dev/null)
CLEAVE="$ROOT/.build/release/cleave"

WORK=$(mktemp -d /tmp/cleave-bench-XXXXXX)
chown postgres "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [ -n "$BASELINE" ]; then git -C "$ROOT" worktree remove --force "$WORK/baseline" >/dev/null 2>&1 || true; fi
  as_pg "$BIN/pg_ctl" -D "$WORK/src" -m fast stop >/dev/null 2>&1 || true
  as_pg "$BIN/pg_ctl" -D "$WORK/dst" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [ -n "$BASELINE" ]; then
  echo "building cleave at $BASELINE for the baseline ..."
  git -C "$ROOT" worktree add --detach "$WORK/baseline" "$BASELINE" >/dev/null
  (cd "$WORK/baseline" && swift build -c release --product cleave >/dev/null)
  BASE_CLEAVE="$WORK/baseline/.build/release/cleave"
  BASE_NAME="cleave copy @ $(git -C "$ROOT" rev-parse --short "$BASELINE")"
fi

SETTINGS="-c shared_buffers=1GB -c maintenance_work_mem=512MB -c max_wal_size=8GB -c checkpoint_timeout=30min -c max_connections=100 -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK"
for side in src:$SRC_PORT dst:$DST_PORT; do
  name=${side%%:*}; port=${side##*:}
  as_pg "$BIN/initdb" -D "$WORK/$name" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  as_pg "$BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name.log" -w -o "-p $port $SETTINGS" start >/dev/null
done
SRC="host=127.0.0.1 port=$SRC_PORT user=postgres dbname=shop"
DST_ADMIN="host=127.0.0.1 port=$DST_PORT user=postgres dbname=postgres"
PSQL="psql -X -q -v ON_ERROR_STOP=1"

echo "loading pagila and generating $ORDERS orders, $ITEMS order_items ..."
$PSQL -d "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=postgres" -c "CREATE DATABASE shop"
$PSQL -d "$SRC" -f "$ROOT/../shared/datasets/pagila/pagila-schema.sql" >/dev/null
$PSQL -d "$SRC" -f "$ROOT/../shared/datasets/pagila/pagila-data.sql" >/dev/null
$PSQL -d "$SRC" <<SQL
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, status text NOT NULL,
  total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL, note text);
CREATE TABLE order_items (id bigint PRIMARY KEY, order_id bigint NOT NULL REFERENCES orders,
  sku text NOT NULL, qty int NOT NULL, price numeric(10,2) NOT NULL);
INSERT INTO orders SELECT i, 1 + i % 599, (ARRAY['new','paid','shipped','returned'])[1 + i % 4],
  (i % 100000) / 100.0, '2024-01-01'::timestamptz + i * interval '1 second',
  CASE WHEN i % 3 = 0 THEN 'gift wrap ' || md5(i::text) END FROM generate_series(1, $ORDERS) i;
INSERT INTO order_items SELECT i, 1 + (i::bigint * 7919) % $ORDERS, 'SKU-' || (i % 50000), 1 + i % 5, (i % 10000) / 100.0
  FROM generate_series(1, $ITEMS) i;
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at);
CREATE INDEX order_items_order_idx ON order_items (order_id);
CREATE TABLE mem_1x (id bigint PRIMARY KEY, payload text);
INSERT INTO mem_1x SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, $MEMROWS) i;
CREATE TABLE mem_2x (LIKE mem_1x INCLUDING ALL);
INSERT INTO mem_2x SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 2 * $MEMROWS) i;
CREATE TABLE mem_4x (LIKE mem_1x INCLUDING ALL);
INSERT INTO mem_4x SELECT i, repeat(md5(i::text), 3) FROM generate_series(1, 4 * $MEMROWS) i;
VACUUM ANALYZE;
SQL
DATA_BYTES=$($PSQL -At -d "$SRC" -c "SELECT pg_relation_size('orders') + pg_relation_size('order_items')")
TABLES="-t public.orders -t public.order_items"

reset_target() {  # $1 = database name
  $PSQL -d "$DST_ADMIN" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
}
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
settle() {  # before each timed run: no tool pays for another's writes, and every tool starts from a warm source
  $PSQL -d "$DST_ADMIN" -c "CHECKPOINT" >/dev/null
  $PSQL -d "$SRC" -c "CHECKPOINT" -c "SELECT count(*) FROM orders" -c "SELECT count(*) FROM order_items" >/dev/null
}
measure() {  # $1 = name, $2 = setup function, $3... = command; records seconds and peak RSS (KiB) per run
  local name=$1 setup=$2; shift 2
  for run in $(seq 1 "$RUNS"); do
    $setup
    settle
    # Peak RSS is that of the largest single process of the command (GNU time's %M over the process tree).
    /usr/bin/time -f "%e %M" -o "$WORK/time" bash -c "$*" >"$WORK/out" 2>"$WORK/err" || { echo "$name failed:"; tail -5 "$WORK/err"; echo -e "$name\tfailed\t0" >> "$RESULTS"; return 0; }
    read -r secs rss < "$WORK/time"
    echo -e "$name\t$secs\t$rss" >> "$RESULTS"
    echo "  $name run $run: ${secs}s, peak RSS $((rss / 1024)) MB"
  done
}

# --- cleave -------------------------------------------------------------------------------------------------
cat > "$WORK/cleave.yml" <<YAML
source: '$SRC'
targets:
  main: '$DST_ADMIN'
services:
  orders:
    database: orders_cleave
    tables: [public.orders, public.order_items]
YAML
setup_cleave() {  # each run provisions from nothing (a baseline's run keeps its passwords in a file of its own)
  $PSQL -d "$DST_ADMIN" -c "DROP DATABASE IF EXISTS orders_cleave WITH (FORCE)" \
    -c "DROP ROLE IF EXISTS orders_cleave_owner, orders_cleave_app" >/dev/null
  rm -rf "$WORK/cleave-work"
}
run_cleave() {
  "$CLEAVE" copy -f "$WORK/cleave.yml" --secrets "$WORK/secrets.env" --jobs "$JOBS" --work-dir "$WORK/cleave-work" \
    --format json > "$WORK/cleave-$(date +%s%N).json"
}
export -f run_cleave
run_baseline() {
  "$BASE_CLEAVE" copy -f "$WORK/cleave.yml" --secrets "$WORK/baseline-secrets.env" --jobs "$JOBS" \
    --work-dir "$WORK/cleave-work" --format json > "$WORK/baseline-$(date +%s%N).json"
}
export -f run_baseline
if [ -n "$BASELINE" ]; then
  # Interleaved, one run of each at a time and each going first every other time, so both see the same machine.
  for run in $(seq 1 "$RUNS"); do
    echo "cleave copy, and $BASE_NAME (run $run)"
    if [ $((run % 2)) = 1 ]; then
      RUNS=1 measure "cleave copy" setup_cleave run_cleave
      RUNS=1 measure "$BASE_NAME" setup_cleave run_baseline
    else
      RUNS=1 measure "$BASE_NAME" setup_cleave run_baseline
      RUNS=1 measure "cleave copy" setup_cleave run_cleave
    fi
  done
else
  echo "cleave copy"; measure "cleave copy" setup_cleave run_cleave
fi
# The rows alone: with --no-overlap no index starts before every row is in, so the data phase is the copy alone,
# comparable with the pipe's.
run_cleave_serial() {
  "$CLEAVE" copy -f "$WORK/cleave.yml" --secrets "$WORK/secrets.env" --jobs "$JOBS" --work-dir "$WORK/cleave-work" \
    --no-overlap --format json > "$WORK/serial-$(date +%s%N).json"
}
export -f run_cleave_serial
echo "cleave copy --no-overlap"; measure "cleave copy --no-overlap (indexes after all rows)" setup_cleave run_cleave_serial
# The timeline of the median cleave run, drawn for docs/PERFORMANCE.md.
TIMELINE_SVG="$(dirname "$OUT")/performance-timeline.svg"
python3 - "$WORK" "$TIMELINE_SVG" "$ROOT/bench/timeline.py" "$ORDERS" "$ITEMS" "$JOBS" <<'PY'
import glob, json, subprocess, sys
work, svg, draw, orders, items, jobs = sys.argv[1:]
runs = sorted(glob.glob(work + "/cleave-*.json"), key=lambda f: sum(json.load(open(f))["seconds"].values()))
if runs:
    median = runs[(len(runs) - 1) // 2]
    subprocess.run([sys.executable, draw, median, svg,
                    f"cleave copy of {orders} orders + {items} order_items, --jobs {jobs} (median run)"], check=True)
    phases = json.load(open(median))["seconds"]
    open(work + "/phases.txt", "w").write(", ".join(f"{k} {v:.2f}s" for k, v in sorted(phases.items(), key=lambda kv: -kv[1])))
PY
CLEAVE_DATA=$(python3 - "$WORK" <<'PY'
import glob, json, statistics, sys
values = []
for f in sorted(glob.glob(sys.argv[1] + "/serial-*.json")):
    seconds = json.load(open(f))["seconds"]
    # The data phase of the runs without overlap (the rows alone), sequences counted in as before.
    values.append(seconds["data"] + seconds.get("sequences", 0))
print(f"{statistics.median(values):.2f}" if values else "n/a")
PY
)

T="host=127.0.0.1 port=$DST_PORT user=postgres dbname=t_bench"
if [ "$PEERS" = 1 ]; then
# --- pg_dump | pg_restore ------------------------------------------------------------------------------------
setup_t() { reset_target t_bench; rm -rf "$WORK/dump"; }
run_dump_pipe() { pg_dump -Fc $TABLES -d "$SRC" | pg_restore --no-owner -d "host=127.0.0.1 port=$DST_PORT user=postgres dbname=t_bench"; }
export -f run_dump_pipe
echo "pg_dump -Fc | pg_restore"; measure "pg_dump -Fc | pg_restore" setup_t run_dump_pipe
run_dump_dir() {
  pg_dump -Fd -j "$JOBS" $TABLES -f "$WORK/dump" -d "$SRC" &&
    pg_restore --no-owner -j "$JOBS" -d "host=127.0.0.1 port=$DST_PORT user=postgres dbname=t_bench" "$WORK/dump"
}
export -f run_dump_dir
echo "pg_dump -Fd -j + pg_restore -j"; measure "pg_dump -Fd -j $JOBS + pg_restore -j $JOBS" setup_t run_dump_dir

# --- psql COPY | psql COPY -----------------------------------------------------------------------------------
run_psql_pipe() {
  pg_dump --section=pre-data $TABLES -d "$SRC" | $PSQL -d "$T" >/dev/null
  local start=$(date +%s.%N)
  for table in orders order_items; do
    psql -X -d "$SRC" -c "COPY $table TO STDOUT" | psql -X -q -d "$T" -c "COPY $table FROM STDIN"
  done
  echo "$(date +%s.%N) - $start" | bc >> "$WORK/pipe-data"
  pg_dump --section=post-data $TABLES -d "$SRC" | $PSQL -d "$T" >/dev/null
}
export -f run_psql_pipe
: > "$WORK/pipe-data"
echo "psql COPY | psql COPY"; measure "psql COPY | psql COPY (+ pg_dump schema)" setup_t run_psql_pipe
PIPE_DATA=$(sort -n "$WORK/pipe-data" | awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]}')

# --- pgcopydb ------------------------------------------------------------------------------------------------
cat > "$WORK/filters.ini" <<INI
[include-only-table]
public.orders
public.order_items
INI
run_pgcopydb() {
  rm -rf "$WORK/pgcopydb"
  pgcopydb clone --source "postgres://postgres@127.0.0.1:$SRC_PORT/shop" \
    --target "postgres://postgres@127.0.0.1:$DST_PORT/t_bench" --dir "$WORK/pgcopydb" \
    --table-jobs "$JOBS" --index-jobs "$JOBS" --filters "$WORK/filters.ini" --no-owner --no-acl --skip-extensions
}
export -f run_pgcopydb
echo "pgcopydb clone"; measure "pgcopydb clone (filtered)" setup_t run_pgcopydb

fi

# --- ceilings ------------------------------------------------------------------------------------------------
run_read_ceiling() { for table in orders order_items; do psql -X -d "$SRC" -c "COPY $table TO STDOUT" > /dev/null; done; }
export -f run_read_ceiling
echo "COPY TO /dev/null"; measure "ceiling: COPY TO /dev/null on the source" true run_read_ceiling
for table in orders order_items; do
  psql -X -d "$SRC" -c "COPY $table TO STDOUT" > "$WORK/$table.copy"
done
chown postgres "$WORK"/*.copy
setup_write() { reset_target t_bench; pg_dump --section=pre-data $TABLES -d "$SRC" | $PSQL -d "$T" >/dev/null; }
run_write_ceiling() { for table in orders order_items; do $PSQL -d "$T" -c "COPY $table FROM '$WORK/$table.copy'"; done; }
export -f run_write_ceiling
echo "COPY FROM file"; measure "ceiling: COPY FROM a local file on the target" setup_write run_write_ceiling

# --- verify ---------------------------------------------------------------------------------------------------
# The target still holds the last `cleave copy` run's orders_cleave. Each command reads both tables on both
# servers, the two servers at once (as cleave verify does).
VERIFY_RESULTS="$WORK/verify.tsv"; COPY_RESULTS="$RESULTS"; RESULTS="$VERIFY_RESULTS"; : > "$RESULTS"
DST_ORDERS="host=127.0.0.1 port=$DST_PORT user=postgres dbname=orders_cleave"
both() {  # $1 = SQL template with {t} for the table; runs it for both tables on both servers at once
  for db in "$SRC" "$DST_ORDERS"; do
    (for table in orders order_items; do psql -X -At -d "$db" -c "${1//\{t\}/$table}"; done) > /dev/null &
  done
  wait
}
export -f both
run_scan() { both "SELECT count(*) FROM ONLY {t}"; }
run_text_scan() { both "SELECT sum(length(t::text)) FROM ONLY {t} AS t"; }
run_verify() { "$CLEAVE" verify -f "$WORK/cleave.yml" --format json > "$WORK/verify.json"; }
# `pgcopydb compare data` arrived in pgcopydb 0.13; Debian 12 ships 0.10. Without it, its documented query (sum of
# 32-bit hashtext of each row's text, per table) is run on both servers at once, which is what it does.
if pgcopydb help 2>&1 | grep -q "compare"; then
  COMPARE_LABEL="pgcopydb compare data"
  run_compare() {
    pgcopydb compare data --source "postgres://postgres@127.0.0.1:$SRC_PORT/shop" \
      --target "postgres://postgres@127.0.0.1:$DST_PORT/orders_cleave" --dir "$WORK/pgcopydb-compare" \
      --filters "$WORK/filters.ini" --table-jobs "$JOBS"
  }
else
  COMPARE_LABEL="pgcopydb compare data's query (psql; pgcopydb $(dpkg-query -W -f='${Version}' pgcopydb) has no compare)"
  run_compare() {
    both "SELECT count(1), md5(format('%s-%s', sum(hashtext(t::text)::bigint), count(1)))::uuid FROM ONLY {t} AS t"
  }
fi
export -f run_scan run_text_scan run_verify run_compare
cat > "$WORK/filters.ini" <<INI
[include-only-table]
public.orders
public.order_items
INI
run_scan  # warm both servers' caches
echo "verify"
measure "one sequential scan, count(*), both servers" true run_scan
measure "one sequential scan with each row as text, both servers" true run_text_scan
measure "cleave verify" true run_verify
measure "$COMPARE_LABEL" true run_compare
RESULTS="$COPY_RESULTS"

# --- memory at 1x, 2x, 4x rows -------------------------------------------------------------------------------
MEM="$WORK/mem.tsv"; : > "$MEM"
VMEM="$WORK/verify-mem.tsv"; : > "$VMEM"
for size in 1x 2x 4x; do
  cat > "$WORK/mem-$size.yml" <<YAML
source: '$SRC'
targets:
  main: '$DST_ADMIN'
services:
  mem$size:
    database: mem_$size
    tables: [public.mem_$size]
YAML
  $PSQL -d "$DST_ADMIN" -c "DROP DATABASE IF EXISTS mem_$size WITH (FORCE)" >/dev/null
  # Each plan keeps its passwords in its own secrets file, next to it (Cleave never shares one between plans).
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$CLEAVE" copy -f "$WORK/mem-$size.yml" \
    --jobs 1 --work-dir "$WORK/mem-work-$size" > /dev/null 2>&1
  read -r secs rss < "$WORK/time"
  rows=$($PSQL -At -d "$SRC" -c "SELECT count(*) FROM mem_$size")
  bytes=$($PSQL -At -d "$SRC" -c "SELECT pg_size_pretty(pg_relation_size('mem_$size'))")
  echo -e "$size\t$rows\t$bytes\t$secs\t$rss" >> "$MEM"
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$CLEAVE" verify -f "$WORK/mem-$size.yml" > /dev/null 2>&1
  read -r vsecs vrss < "$WORK/time"
  # One row in a hundred changed: more differing buckets than are worth narrowing, so every row's key and hash
  # is merged through cursors (the worst case for memory).
  $PSQL -d "host=127.0.0.1 port=$DST_PORT user=postgres dbname=mem_$size" \
    -c "UPDATE mem_$size SET payload = payload || 'x' WHERE id % 100 = 0" >/dev/null
  /usr/bin/time -q -f "%e %M" -o "$WORK/time" "$CLEAVE" verify -f "$WORK/mem-$size.yml" > "$WORK/mem-verify-$size.txt" 2>&1 || true
  read -r dsecs drss < "$WORK/time"
  grep -q "$((rows / 100)) changed" "$WORK/mem-verify-$size.txt" || { echo "verify did not find the changed rows:"; head -5 "$WORK/mem-verify-$size.txt"; }
  echo -e "$size\t$rows\t$bytes\t$vsecs\t$vrss\t$dsecs\t$drss" >> "$VMEM"
done

# --- report --------------------------------------------------------------------------------------------------
python3 - "$RESULTS" "$MEM" "$OUT" "$DATA_BYTES" "$CLEAVE_DATA" "$PIPE_DATA" "$ORDERS" "$ITEMS" "$RUNS" "$JOBS" \
  "$VERIFY_RESULTS" "$VMEM" "$PEERS" "$WORK/phases.txt" <<'PY'
import collections, os, platform, statistics, subprocess, sys
results, mem, out, data_bytes, cleave_data, pipe_data, orders, items, runs, jobs, vresults, vmem, peers, phases = sys.argv[1:]
rows = collections.OrderedDict()
for line in open(results):
    name, secs, rss = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append((None if secs == "failed" else float(secs), int(rss)))
mb = int(data_bytes) / 1048576
def cpu():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"): return line.split(":", 1)[1].strip()
    return platform.processor()
mem_total = int(open("/proc/meminfo").readline().split()[1]) // 1048576
pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
lines = ["# Performance", "",
  "Measured by `bench/run.sh` (the command below), which builds a source with a synthetic order service next to "
  "pagila and copies that service with each tool, side by side in one run, on two local PostgreSQL clusters "
  "(source and target on the same machine). Each figure is the median of the runs; MB/s is the heap size of "
  "`orders` + `order_items` divided by the end-to-end time (schema, data, indexes, constraints). Before every run "
  "of every tool both servers take a `CHECKPOINT` and the source tables are read once, so that no tool pays for "
  "another's writes and each starts from the same warm cache.", "",
  f"- Command: `ORDERS={orders} ITEMS={items} RUNS={runs} JOBS={jobs}{'' if peers == '1' else ' PEERS=0'}"
  f"{' BASELINE=' + os.environ['BASELINE'] if os.environ.get('BASELINE') else ''} bench/run.sh`",
  f"- Data: {orders} orders and {items} order_items, {mb:.0f} MB of heap",
  f"- Machine: {cpu()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {mem_total} GiB; {pg}", "",
  "| tool | median seconds | MB/s | peak RSS (MB) | runs |", "|---|---|---|---|---|"]
medians = {}
for name, values in rows.items():
    ok = [v for v in values if v[0] is not None]
    label = name.replace("|", "\\|")
    if not ok:
        lines.append(f"| {label} | failed | | | {len(values)} |"); continue
    secs = statistics.median(v[0] for v in ok); rss = max(v[1] for v in ok) / 1024
    medians[name] = secs
    lines.append(f"| {label} | {secs:.2f} | {mb / secs:.0f} | {rss:.0f} | {', '.join(f'{v[0]:.2f}' for v in ok)} |")
others = {k: v for k, v in medians.items() if not k.startswith("cleave") and not k.startswith("ceiling")}
lines += ["", "## Targets", ""]
if "cleave copy" in medians and others:
    fastest = min(others, key=others.get)
    ratio = medians["cleave copy"] / others[fastest]
    base = next((k for k in medians if k.startswith("cleave copy @")), None)
    if base:
        lines.append(f"- Against the baseline: cleave {medians['cleave copy']:.2f}s vs {base} {medians[base]:.2f}s: "
                     f"**{medians['cleave copy'] / medians[base]:.2f}x** (runs interleaved).")
    lines.append(f"- End to end: cleave {medians['cleave copy']:.2f}s vs the fastest other tool ({fastest}) "
                 f"{others[fastest]:.2f}s: **{ratio:.2f}x** (target: at most 0.8x).")
try:
    c, p = float(cleave_data), float(pipe_data)
    lines.append(f"- Data phase (the rows alone: `cleave copy --no-overlap`, whose indexes wait for every row): cleave "
                 f"{c:.2f}s vs `psql COPY | psql COPY` {p:.2f}s: **{c / p:.2f}x** (target: at most 0.9x).")
except ValueError:
    pass
if os.path.exists(phases):
    lines += ["", "## Where cleave's time goes", "",
              "Phases of the median `cleave copy` run (`seconds` in its JSON; `data` lasts until the last rows are in, "
              "with index builds already running beside it, and `post-data` is what is left after):",
              "", "- " + open(phases).read().strip(), "",
              "Its timeline (`timeline` in the JSON, drawn by `bench/timeline.py`): one lane per worker, a bar per "
              "task; a gap in a lane is a worker idle.", "",
              "![cleave copy timeline](performance-timeline.svg)"]
lines += ["", "## Memory", "", "cleave copy of one table at 1x, 2x and 4x the rows (`--jobs 1`):", "",
          "| size | rows | table | seconds | peak RSS (MB) |", "|---|---|---|---|---|"]
for line in open(mem):
    size, nrows, size_pretty, secs, rss = line.rstrip("\n").split("\t")
    lines.append(f"| {size} | {nrows} | {size_pretty} | {secs} | {int(rss) / 1024:.0f} |")
def medians_of(path):
    found = collections.OrderedDict()
    for line in open(path):
        name, secs, rss = line.rstrip("\n").split("\t")
        found.setdefault(name, []).append((None if secs == "failed" else float(secs), int(rss)))
    return found
lines += ["", "## Verify", "",
  "`cleave verify` of the copied order service (both tables, counts and in-server checksums, schema and "
  "sequences), against reading the same tables on both servers at once:", "",
  "| command | median seconds | peak RSS (MB) | runs |", "|---|---|---|---|"]
vmedians = {}
for name, values in medians_of(vresults).items():
    ok = [v for v in values if v[0] is not None]
    if not ok:
        lines.append(f"| {name} | failed | | {len(values)} |"); continue
    vmedians[name] = statistics.median(v[0] for v in ok)
    lines.append(f"| {name} | {vmedians[name]:.2f} | {max(v[1] for v in ok) / 1024:.0f} | {', '.join(f'{v[0]:.2f}' for v in ok)} |")
scan = vmedians.get("one sequential scan, count(*), both servers")
if scan and "cleave verify" in vmedians:
    lines += ["", f"- Verify against one sequential scan, `count(*)` (which reads no value): {vmedians['cleave verify']:.2f}s / {scan:.2f}s = "
              f"**{vmedians['cleave verify'] / scan:.2f}x** (target: at most 1.5x)."]
    text_scan = vmedians.get("one sequential scan with each row as text, both servers")
    if text_scan:
        lines.append(f"- Against one sequential scan that reads every value as text: **{vmedians['cleave verify'] / text_scan:.2f}x**.")
    for name, secs in vmedians.items():
        if name.startswith("pgcopydb"):
            lines.append(f"- Against {name}: **{vmedians['cleave verify'] / secs:.2f}x**.")
lines += ["", "Verify's memory at 1x, 2x and 4x the rows: clean, and with one row in a hundred changed in the target "
          "(too many differing buckets to narrow, so every row's key and hash is merged through cursors: the worst case):", "",
          "| size | rows | table | clean: seconds | clean: peak RSS (MB) | 1% changed: seconds | 1% changed: peak RSS (MB) |",
          "|---|---|---|---|---|---|---|"]
for line in open(vmem):
    size, nrows, size_pretty, vsecs, vrss, dsecs, drss = line.rstrip("\n").split("\t")
    lines.append(f"| {size} | {nrows} | {size_pretty} | {vsecs} | {int(vrss) / 1024:.0f} | {dsecs} | {int(drss) / 1024:.0f} |")
lines.append("")
# A hand-written analysis below the marker survives a rerun; review it against the new figures.
marker = "## Reading the numbers"
try:
    previous = open(out).read()
    if marker in previous:
        lines.append(previous[previous.index(marker):].rstrip("\n"))
except FileNotFoundError:
    pass
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
