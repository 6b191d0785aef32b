#!/usr/bin/env bash
# Cleave's migrate benchmark: 8 services with 100 Prisma-layout migrations each, deployed by `cleave migrate
# deploy` (all services in one command) against the runbooks' loop of one `psql -f` per migration, and
# `cleave migrate status` for all 8 services afterwards.
#
#   bench/migrate.sh                     # 8 services x 100 migrations, 3 runs, median reported
#   SERVICES=4 MIGRATIONS=50 bench/migrate.sh
#
# Rewrites the section between the migrate markers of docs/PERFORMANCE.md (or $OUT). Needs root or postgres.
set -euo pipefail
set -a
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVICES=${SERVICES:-8}
MIGRATIONS=${MIGRATIONS:-100}
RUNS=${RUNS:-3}
OUT=${OUT:-$ROOT/docs/PERFORMANCE.md}
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PORT=56201

(cd "$ROOT" && swift build -c release --product cleave >/dev/null)
CLEAVE="$ROOT/.build/release/cleave"
WORK=$(mktemp -d /tmp/cleave-migrate-bench-XXXXXX)
chown postgres "$WORK"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() { as_pg "$BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
as_pg "$BIN/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --locale=C >/dev/null
as_pg "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/log" -w \
  -o "-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$WORK -c max_connections=100" start >/dev/null
ADMIN="host=127.0.0.1 port=$PORT user=postgres dbname=postgres"
PSQL="psql -X -q -v ON_ERROR_STOP=1"

# Migrations: a table, then columns, indexes, constraints, a view and data, as a service's history grows.
for s in $(seq 1 "$SERVICES"); do
  dir="$WORK/svc$s/migrations"; mkdir -p "$dir"; echo 'provider = "postgresql"' > "$dir/migration_lock.toml"
  for m in $(seq 1 "$MIGRATIONS"); do
    name=$(printf '2024%010d_step_%03d' "$m" "$m"); mkdir -p "$dir/$name"
    t=$(( (m - 1) / 5 ))
    case $(( (m - 1) % 5 )) in
      0) sql="CREATE TABLE t$t (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now());" ;;
      1) sql="ALTER TABLE t$t ADD COLUMN name text; ALTER TABLE t$t ADD COLUMN amount numeric(12,2);" ;;
      2) sql="CREATE INDEX t${t}_name_idx ON t$t (name);" ;;
      3) sql="ALTER TABLE t$t ADD CONSTRAINT t${t}_amount_positive CHECK (amount >= 0);" ;;
      4) sql="INSERT INTO t$t (name, amount) SELECT 'row ' || g, g FROM generate_series(1, 200) g; CREATE VIEW v$t AS SELECT name FROM t$t;" ;;
    esac
    echo "$sql" > "$dir/$name/migration.sql"
  done
done

plan() {  # $1 = database prefix
  echo "targets:"; echo "  main: '$ADMIN'"; echo "services:"
  for s in $(seq 1 "$SERVICES"); do
    echo "  svc$s:"; echo "    database: ${1}svc$s"; echo "    migrations: svc$s/migrations"
  done
}
plan c_ > "$WORK/cleave.yml"
reset() {  # $1 = database prefix
  for s in $(seq 1 "$SERVICES"); do
    $PSQL -d "$ADMIN" -c "DROP DATABASE IF EXISTS ${1}svc$s" -c "CREATE DATABASE ${1}svc$s" >/dev/null
  done
}
run_cleave() { "$CLEAVE" migrate deploy -f "$WORK/cleave.yml" > "$WORK/deploy.txt"; }
run_loop() {  # the runbooks: one psql -f per migration, service after service
  for s in $(seq 1 "$SERVICES"); do
    for f in "$WORK"/svc$s/migrations/*/migration.sql; do $PSQL -d "host=127.0.0.1 port=$PORT user=postgres dbname=p_svc$s" -f "$f"; done
  done
}
run_status() { "$CLEAVE" migrate status -f "$WORK/cleave.yml" > "$WORK/status.txt"; }
seconds() { local start end; start=$(date +%s.%N); "$@"; end=$(date +%s.%N); echo "$end - $start" | bc; }
: > "$WORK/results"
for run in $(seq 1 "$RUNS"); do
  reset c_; c=$(seconds run_cleave)
  done_services=$(grep -c "(prisma): $MIGRATIONS applied, 0 pending, 0 failed" "$WORK/deploy.txt" || true)
  [ "$done_services" = "$SERVICES" ] || { echo "cleave deploy did not apply everything"; cat "$WORK/deploy.txt"; exit 1; }
  [ "$(grep -c "applied now" "$WORK/deploy.txt")" = "$((SERVICES * MIGRATIONS))" ] || { echo "not every migration ran now"; exit 1; }
  reset p_; p=$(seconds run_loop)
  s=$(seconds run_status)
  echo "$c $p $s" >> "$WORK/results"
  echo "run $run: cleave migrate deploy ${c}s, psql -f loop ${p}s, cleave migrate status ${s}s"
done

python3 - "$WORK/results" "$OUT" "$SERVICES" "$MIGRATIONS" "$RUNS" <<'PY'
import statistics, sys
results, out, services, migrations, runs = sys.argv[1:]
rows = [list(map(float, line.split())) for line in open(results)]
c, p, s = (statistics.median(col) for col in zip(*rows))
section = [
  "<!-- migrate:start (written by bench/migrate.sh) -->", "## Migrate", "",
  f"`SERVICES={services} MIGRATIONS={migrations} RUNS={runs} bench/migrate.sh`: {services} services with {migrations} "
  "Prisma-layout migrations each (tables, columns, indexes, CHECK constraints, views, 200-row inserts), on one local "
  "cluster; median of the runs.", "",
  "| command | median seconds | runs |", "|---|---|---|",
  f"| cleave migrate deploy (all services, history rows, locks) | {c:.2f} | {', '.join(f'{r[0]:.2f}' for r in rows)} |",
  f"| the runbooks' loop: one `psql -f` per migration (no history) | {p:.2f} | {', '.join(f'{r[1]:.2f}' for r in rows)} |",
  f"| cleave migrate status (all services) | {s:.2f} | {', '.join(f'{r[2]:.2f}' for r in rows)} |", "",
  f"- Deploy against the loop: **{c / p:.2f}x** (target: not slower, at most 1.00x).",
  f"- Status for all {services} services: **{s:.2f} s** (target: under 1 s).",
  "<!-- migrate:end -->",
]
text = open(out).read()
start, end = "<!-- migrate:start", "<!-- migrate:end -->"
if start in text and end in text:
    text = text[:text.index(start)] + "\n".join(section) + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n" + "\n".join(section) + "\n"
open(out, "w").write(text)
print("\n".join(section))
PY
