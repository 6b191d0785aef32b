#!/usr/bin/env bash
# Cleave's online benchmark (issue 14): one service (orders + items) streamed from a source cluster to a target
# cluster with PostgreSQL's logical replication while pgbench writes to the moved tables through PgBouncer, then
# SWITCHES cutovers and as many rollbacks, one after the other, under that load.
#
#   bench/online.sh                                   # 500k orders, 1.5M items, 600 tx/s, 20 cutovers + 20 rollbacks
#   ORDERS=100000 ITEMS=300000 SWITCHES=5 bench/online.sh
#
# Reports the write freeze of every switch (p50, p99, max), failed pgbench transactions, the exact check after
# each switch (tables equal), the replication lag sampled between switches (p50, p99, by a heartbeat), the WAL the
# slot held, and the seed's throughput next to `cleave copy` of the same service. The application: pgbench with
# a script that inserts an order and two items, updates an older order and deletes an item, at RATE transactions
# a second over CLIENTS connections through PgBouncer (transaction pooling).
#
# Rewrites the section between the online markers of docs/PERFORMANCE.md (or $OUT). Needs root or postgres,
# and pgbouncer (make deps).
set -euo pipefail
set -a
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ORDERS=${ORDERS:-500000}
ITEMS=${ITEMS:-1500000}
RATE=${RATE:-600}
CLIENTS=${CLIENTS:-8}
SWITCHES=${SWITCHES:-20}
STEADY=${STEADY:-2}
MAX_FREEZE=${MAX_FREEZE:-5}
LAG_SAMPLES=${LAG_SAMPLES:-5}
OUT=${OUT:-$ROOT/docs/PERFORMANCE.md}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
SRC_PORT=56301
DST_PORT=56302
BOUNCER_PORT=56303
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

(cd "$ROOT" && swift build -c release --product cleave >/dev/null)
CLEAVE="$ROOT/.build/release/cleave"

WORK=$(mktemp -d /tmp/cleave-online-bench-XXXXXX)
LOGS=${LOGS:-/tmp/cleave-online-bench-logs}
rm -rf "$LOGS"
chown postgres "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  # The servers' and PgBouncer's logs, the switches' reports and pgbench's output stay for a look afterwards.
  mkdir -p "$LOGS" && cp "$WORK"/*.log "$WORK"/*.out "$WORK"/*.jsonl "$WORK/bouncer/pgbouncer.log" "$LOGS"/ 2>/dev/null || true
  [ -n "${PGBENCH_PID:-}" ] && kill -9 "$PGBENCH_PID" 2>/dev/null || true
  [ -f "$WORK/bouncer/pgbouncer.pid" ] && kill "$(cat "$WORK/bouncer/pgbouncer.pid")" 2>/dev/null || true
  as_pg "$BIN/pg_ctl" -D "$WORK/src" -m fast stop >/dev/null 2>&1 || true
  as_pg "$BIN/pg_ctl" -D "$WORK/dst" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

SETTINGS="-c shared_buffers=512MB -c maintenance_work_mem=256MB -c max_wal_size=4GB -c wal_level=logical \
  -c max_replication_slots=10 -c max_wal_senders=10 -c max_connections=100 -c listen_addresses=127.0.0.1 \
  -c unix_socket_directories=$WORK"
for side in src:$SRC_PORT dst:$DST_PORT; do
  name=${side%%:*}; port=${side##*:}
  as_pg "$BIN/initdb" -D "$WORK/$name" -U postgres -A trust -E UTF8 --locale=C >/dev/null
  as_pg "$BIN/pg_ctl" -D "$WORK/$name" -l "$WORK/$name.log" -w -o "-p $port $SETTINGS" start >/dev/null
done
SRC="host=127.0.0.1 port=$SRC_PORT user=postgres dbname=shop"
psql() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=postgres" -c "CREATE DATABASE shop"

echo "loading $ORDERS orders and $ITEMS items ..."
psql "$SRC" <<SQL
CREATE TABLE orders (id serial PRIMARY KEY, customer int NOT NULL, total numeric(12,2), note text);
CREATE TABLE items (id bigserial PRIMARY KEY, order_id int NOT NULL REFERENCES orders, qty int, secret text);
INSERT INTO orders (customer, total, note)
  SELECT i % 997, i * 1.5, 'order ' || i || repeat(' lorem ipsum', 3) FROM generate_series(1, $ORDERS) i;
INSERT INTO items (order_id, qty, secret)
  SELECT 1 + i % $ORDERS, i % 7, md5(i::text) FROM generate_series(1, $ITEMS) i;
VACUUM ANALYZE;
SQL

mkdir -p "$WORK/bouncer"
printf '[databases]\nshop = host=127.0.0.1 port=%s dbname=shop\n' "$SRC_PORT" > "$WORK/bouncer/databases.ini"
printf '"postgres" ""\n"pgbouncer" ""\n' > "$WORK/bouncer/userlist.txt"
cat > "$WORK/bouncer/pgbouncer.ini" <<INI
%include $WORK/bouncer/databases.ini
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/bouncer/userlist.txt
admin_users = pgbouncer
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits,options
logfile = $WORK/bouncer/pgbouncer.log
pidfile = $WORK/bouncer/pgbouncer.pid
INI
chown -R postgres "$WORK/bouncer"
chmod 0666 "$WORK/bouncer/databases.ini"
as_pg "$PGBOUNCER" -d "$WORK/bouncer/pgbouncer.ini"
ADMIN="postgresql://pgbouncer@127.0.0.1:$BOUNCER_PORT/pgbouncer"
until psql "$ADMIN" -c "SHOW VERSION" >/dev/null 2>&1; do sleep 0.1; done

plan() {  # $1: file, $2: service database
  cat > "$1" <<YAML
version: 1
source:
  url: "$SRC"
targets:
  main:
    url: "host=127.0.0.1 port=$DST_PORT user=postgres dbname=postgres"
services:
  shop:
    database: $2
    tables: [public.orders, public.items]
    switch:
      pgbouncer:
        admin: $ADMIN
        config: $WORK/bouncer/databases.ini
        database: shop
YAML
}
plan "$WORK/copy.yml" shop_copy
plan "$WORK/online.yml" shop_online

cat > "$WORK/app.sql" <<SQL
\\set order random(1, $ORDERS)
\\set item random(1, $ITEMS)
BEGIN;
WITH o AS (INSERT INTO orders (customer, total, note) VALUES (7, 10.5, 'live') RETURNING id)
INSERT INTO items (order_id, qty, secret) SELECT id, 1, 'y' FROM o UNION ALL SELECT id, 2, 'z' FROM o;
UPDATE orders SET total = total + 1 WHERE id = :order;
DELETE FROM items WHERE id = :item;
COMMIT;
SQL
chown postgres "$WORK/app.sql"
"$BIN/pgbench" -n -f "$WORK/app.sql" -c "$CLIENTS" -j 2 -R "$RATE" -T 36000 -P 5 \
  "host=127.0.0.1 port=$BOUNCER_PORT user=postgres dbname=shop" > "$WORK/pgbench.out" 2>&1 &
PGBENCH_PID=$!
sleep 5

psql "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=postgres" -c "CHECKPOINT" >/dev/null
echo "cleave copy of the same service (under the same load, for the seed's comparison) ..."
"$CLEAVE" copy -f "$WORK/copy.yml" --secrets "$WORK/copy.secrets.env" --format json > "$WORK/copy.json"

psql "host=127.0.0.1 port=$SRC_PORT user=postgres dbname=postgres" -c "CHECKPOINT" >/dev/null
echo "cleave online start (seed under $RATE tx/s) ..."
"$CLEAVE" online start -f "$WORK/online.yml" --secrets "$WORK/online.secrets.env" --format json > "$WORK/start.json"

mkdir -p "$WORK/status"
sample() {  # lag and WAL held, LAG_SAMPLES times, one JSON document each
  for _ in $(seq "$LAG_SAMPLES"); do
    n=$(ls "$WORK/status" | wc -l)
    "$CLEAVE" online status -f "$WORK/online.yml" --format json --window 0 > "$WORK/status/$n.json" \
      2>>"$WORK/status.err" || echo '{"failed": true}' > "$WORK/status/$n.json"
  done
}
: > "$WORK/switches.jsonl"
for i in $(seq "$SWITCHES"); do
  sample
  for direction in cutover rollback; do
    code=0
    "$CLEAVE" online "$direction" -f "$WORK/online.yml" --service shop --steady "$STEADY" \
      --max-freeze "$MAX_FREEZE" --format json > "$WORK/switch.json" 2>"$WORK/switch.err" || code=$?
    python3 - "$direction" "$code" "$WORK/switch.json" "$WORK/switch.err" >> "$WORK/switches.jsonl" <<'PY'
import json, sys
direction, code, report, err = sys.argv[1:]
try:
    data = json.load(open(report))
except Exception:
    data = {}
print(json.dumps({"direction": direction, "code": int(code), "freeze": data.get("freezeMilliseconds"),
                  "tables": data.get("tables", []), "error": open(err).read()[-500:] if code != "0" else ""}))
PY
    [ "$code" = 0 ] || sed 's/^/    /' "$WORK/switch.err" | head -5
    echo "  $i $direction: exit $code, freeze $(tail -1 "$WORK/switches.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["freeze"])') ms"
    [ "$direction" = cutover ] && sample
  done
done
sample
kill -9 "$PGBENCH_PID" 2>/dev/null || true
wait "$PGBENCH_PID" 2>/dev/null || true
PGBENCH_PID=""

python3 - "$WORK" "$OUT" <<'PY'
import json, os, re, statistics, sys
work, out = sys.argv[1:]
env = os.environ
switches = [json.loads(l) for l in open(f"{work}/switches.jsonl")]
status = []
for name in os.listdir(f"{work}/status"):
    data = json.load(open(f"{work}/status/{name}"))
    status += data.get("services", []) if "services" in data else [{"failed": True}]
def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)
ok = [s for s in switches if s["code"] == 0]
freezes = [s["freeze"] for s in ok if s["freeze"] is not None]
cut = [s["freeze"] for s in ok if s["direction"] == "cutover" and s["freeze"] is not None]
back = [s["freeze"] for s in ok if s["direction"] == "rollback" and s["freeze"] is not None]
unequal = sum(1 for s in ok for t in s["tables"] if not t.get("equal"))
checked = sum(len(s["tables"]) for s in ok)
# Status measures the forward stream's lag (a heartbeat from the source); samples taken while cut over are
# counted for the WAL only.
streaming = [s for s in status if s.get("failed") or s.get("state") == "streaming"]
lags = [s["lagSeconds"] for s in streaming if s.get("lagSeconds") is not None]
late = [s for s in streaming if s.get("failed") or s.get("lagSeconds") is None]
wal = [s.get("walRetainedBytes") or 0 for s in status]
bench = open(f"{work}/pgbench.out").read()
errors = [l for l in bench.splitlines() if "ERROR" in l or "aborted" in l or "FATAL" in l]
progress = [float(m) for m in re.findall(r"progress: [\d.]+ s, ([\d.]+) tps", bench)]
failed_progress = sum(int(m) for m in re.findall(r"(\d+) failed", bench))
copy = json.load(open(f"{work}/copy.json"))
start = json.load(open(f"{work}/start.json"))
seed = start["services"][0]["seed"]
def phases(summary):
    s = summary.get("seconds", {})
    return s.get("data", 0), s.get("post-data", 0), sum(s.values())
def size(summary):
    return sum(t["bytes"] for svc in summary["services"] for t in svc["tables"]), \
        sum(t["rows"] for svc in summary["services"] for t in svc["tables"])
cd, cp, ct = phases(copy)
sd, sp, st = phases(seed)
cb, cr = size(copy)
sb, sr = size(seed)
mb = lambda b, s: b / 1048576 / s if s else float("nan")
n = int(env["SWITCHES"])
lines = [
  "<!-- online:start (written by bench/online.sh) -->", "## Online (issue 14)", "",
  f"`ORDERS={env['ORDERS']} ITEMS={env['ITEMS']} RATE={env['RATE']} CLIENTS={env['CLIENTS']} SWITCHES={n} "
  f"STEADY={env['STEADY']} bench/online.sh`: two local clusters (source and target, `wal_level = logical`), "
  f"PgBouncer (transaction pooling) in front, pgbench writing the moved tables through it at {env['RATE']} "
  f"transactions a second over {env['CLIENTS']} connections (each: an order and two items inserted, an order "
  "updated, an item deleted) from before the seed to the end; then "
  f"{n} cutovers and {n} rollbacks in turn, each with `--steady {env['STEADY']} --max-freeze {env['MAX_FREEZE']}` "
  "(the gate's online verify included).", "",
  "| measure | result | target |", "|---|---|---|",
  f"| switches that completed | {len(ok)} of {len(switches)} | all |",
  f"| write freeze, p50 | {pct(freezes, 50):.0f} ms | ≤ 500 ms |",
  f"| write freeze, p99 | {pct(freezes, 99):.0f} ms | ≤ 2000 ms |",
  f"| write freeze, max | {max(freezes) if freezes else float('nan'):.0f} ms | ≤ --max-freeze ({env['MAX_FREEZE']} s) |",
  f"| freeze p50: cutovers / rollbacks | {pct(cut, 50):.0f} / {pct(back, 50):.0f} ms | |",
  f"| failed pgbench transactions (errors, aborted clients) | {len(errors) + failed_progress} | 0 |",
  f"| tables unequal in the exact check after a switch | {unequal} of {checked} | 0 |",
  f"| replication lag while streaming, p50 / p99 ({len(lags)} heartbeats between switches) | {pct(lags, 50) * 1000:.0f} / "
  f"{pct(lags, 99) * 1000:.0f} ms | p99 ≤ 1000 ms |",
  f"| heartbeats that did not arrive within status's wait | {len(late)} | 0 |",
  f"| WAL held by the slot, max sampled | {max(wal) / 1048576 if wal else 0:.1f} MiB | reported |",
  f"| pgbench throughput, median of 5 s intervals | {statistics.median(progress) if progress else 0:.0f} tx/s | "
  f"≥ 500 |",
  f"| seed: data + indexes (`online start`, under the load) | {sd:.1f} + {sp:.1f} s, {mb(sb, sd):.0f} MiB/s of data, "
  f"{sr:,} rows | within 10 % of `cleave copy` |",
  f"| `cleave copy`, same service, same load | {cd:.1f} + {cp:.1f} s, {mb(cb, cd):.0f} MiB/s of data, "
  f"{cr:,} rows | |",
  f"| seed / copy, data + indexes | **{(sd + sp) / (cd + cp) if cd + cp else float('nan'):.2f}x** | ≤ 1.10x |",
  "",
  "Freezes of every switch in order (ms): " + ", ".join(
    f"{s['direction'][0]}{'' if s['code'] == 0 else '(undone)'} {s['freeze'] if s['freeze'] is not None else '-'}"
    for s in switches) + ".",
]
failures = [s for s in switches if s["code"] != 0]
if failures:
    lines += ["", "Switches that did not complete:"] + [
        f"- {s['direction']}: exit {s['code']}: `{s['error'].strip().splitlines()[0] if s['error'].strip() else '?'}`"
        for s in failures]
if errors:
    lines += ["", "pgbench's errors (first 5):"] + [f"- `{e.strip()}`" for e in errors[:5]]
lines.append("<!-- online:end -->")
section = "\n".join(lines)
text = open(out).read()
begin, end = "<!-- online:start", "<!-- online:end -->"
if begin in text and end in text:
    text = text[:text.index(begin)] + section + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(out, "w").write(text)
print(section)
PY
