# Shared setup for the outbox tests (outbox*.bats, soak_outbox*.bats, lab_outbox.bats).
# load helpers first.

outbox_setup() {
  evt_setup
  OUTBOX="$EVT_BIN/evt-outbox"
  PG_START="$EVT_SRC/tests/tools/pg_start.sh"
  PG_STOP="$EVT_SRC/tests/tools/pg_stop.sh"
}

# Starts a throwaway PostgreSQL for the whole file; sets PGDIR and PGURL
# (exported, so tests see them). The directory is directly under /tmp: when the
# tests run as root, the server runs as `postgres`, which must reach it.
pg_up() {
  PGDIR=$(mktemp -d /tmp/evt-pg.XXXXXX)
  export PGDIR
  PGURL=$("$EVT_SRC/tests/tools/pg_start.sh" "$PGDIR")
  export PGURL
}

pg_down() {
  [ -z "${PGDIR:-}" ] || "$EVT_SRC/tests/tools/pg_stop.sh" "$PGDIR"
}

# psql against the test server, quiet, stopping at the first error.
pg() {
  psql "$PGURL" -X -q -v ON_ERROR_STOP=1 -At "$@"
}

# sql_writer W ROWS AGGS: SQL text for writer W inserting ROWS outbox rows in
# transactions of 1-5 rows, over the aggregates wW-a0..wW-a(AGGS-1); each row's
# payload carries its aggregate's counter n (1, 2, ...) and the writer's row
# number. DIALECT pg or sqlite picks BEGIN and a random pause.
sql_writer() {
  local w=$1 rows=$2 aggs=$3 dialect=${4:-pg} seed=${5:-$RANDOM}
  awk -v q="'" -v w="$w" -v rows="$rows" -v aggs="$aggs" -v dialect="$dialect" -v seed="$seed" 'BEGIN {
    srand(seed + w * 7919)
    i = 0
    while (i < rows) {
      k = 1 + int(rand() * 5)
      print (dialect == "pg" ? "BEGIN;" : "BEGIN IMMEDIATE;")
      for (j = 0; j < k && i < rows; j++) {
        a = int(rand() * aggs)
        n = ++count[a]
        i++
        printf "INSERT INTO outbox (aggregatetype, aggregateid, type, payload) VALUES (%sorder%s, %sw%d-a%d%s, %sOrderStep%s, %s{\"n\": %d, \"w\": %d, \"i\": %d}%s);\n", q, q, q, w, a, q, q, q, q, n, w, i, q
      }
      print "COMMIT;"
    }
  }'
}

# check_relayed TOPIC EXPECTED_ROWS: every row in the topic exactly once and,
# per aggregate, n = 1, 2, 3, ... in log order. Prints a diagnosis and fails
# otherwise.
check_relayed() {
  local topic=$1 want=$2
  "$REPLAY" -t "$topic" --no-position | jq -r '[.id, .subject, .data.n] | @tsv' > "$T/relayed.tsv"
  local total uniq
  total=$(wc -l < "$T/relayed.tsv")
  uniq=$(cut -f1 "$T/relayed.tsv" | sort -u | wc -l)
  assert_eq "$total" "$want"
  assert_eq "$uniq" "$want"
  # per aggregate, in log order: n must be 1, 2, 3, ...
  awk -F'\t' '{ if ($3 != ++seen[$2]) { printf "aggregate %s: got n=%s at position %d, expected %d\n", $2, $3, NR, seen[$2]; bad = 1; exit } }
              END { exit bad }' "$T/relayed.tsv"
}
