#!/usr/bin/env bats
# Soak (issue 9, point 2): an hour of continuous appends in a minute or so,
# the clock injected with EVT_NOW (10 s per step, 360 steps). Time retention
# (10m) and size retention (1 MiB) keep each topic, and the log file, bounded:
# after the first 20 minutes the file stops growing because LMDB reuses the
# freed pages. evt-check is clean at the end.

bats_require_minimum_version 1.5.0
load helpers

setup() {
  evt_setup
  CHECK="$EVT_BIN/evt-check"
}

@test "an hour of appends under time and size retention stays bounded and checks clean" {
  "$TOPIC" create recent --partitions 2 --retention 10m 2>/dev/null
  "$TOPIC" create capped --retention-bytes 1MiB 2>/dev/null
  python3 "$GEN" -n 300 -s 5 > step.ndjson
  t0=1893456000  # 2030-01-01T00:00:00Z
  size_at_20m=0
  for i in $(seq 0 359); do
    now="$((t0 + i * 10))000000"
    EVT_NOW=$now "$APPEND" -t recent --sync none step.ndjson
    EVT_NOW=$now "$APPEND" -t capped --sync none step.ndjson
    if [ "$i" -eq 120 ]; then size_at_20m=$(stat -c %s "$EVT_LOG/data.mdb"); fi
  done
  size_end=$(stat -c %s "$EVT_LOG/data.mdb")
  echo "# data.mdb: $size_at_20m bytes at 20 min, $size_end at 60 min; 216000 events appended" >&3
  # the file stopped growing: at most a quarter more than at 20 minutes
  [ "$size_end" -le $((size_at_20m * 5 / 4)) ]

  # time retention: only the last 10 minutes (60 steps of 300) are left, and nothing older
  recent=$("$TOPIC" describe recent --format json)
  events=$(jq '.events' <<<"$recent")
  echo "# recent: $events events kept of 108000" >&3
  [ "$events" -ge $((60 * 300)) ]
  [ "$events" -le $((61 * 300)) ]
  oldest=$(jq -r '[.partition_detail[].first_append] | min' <<<"$recent")
  [[ "$oldest" > "2030-01-01T00:49:" ]]
  # the start offsets moved and the end offsets count everything ever appended
  assert_eq "$(jq '[.partition_detail[].end] | add' <<<"$recent")" 108000

  # size retention: the partition stays within a batch of the limit
  capped=$(jq '.partition_detail[0].disk_bytes' <<<"$("$TOPIC" describe capped --format json)")
  echo "# capped: $capped bytes on disk (limit 1 MiB)" >&3
  [ "$capped" -le $((1024 * 1024 + 256 * 1024)) ]

  run --separate-stderr env EVT_NOW="$((t0 + 3600))000000" "$CHECK"
  [ "$status" -eq 0 ] || { echo "$output" >&2; return 1; }
}
