#!/usr/bin/env bash
# Benchmark evt-lint on synthetic AsyncAPI 3.0 documents (1,000 and 10,000
# messages, made by ../shared/bench/gen-asyncapi.py) and print wall time
# (hyperfine) and peak RSS (/usr/bin/time -f %M). With SPECTRAL=path/to/spectral
# the same documents are linted by Spectral with `extends: ["spectral:asyncapi"]`.
#
# Both tools write every finding as JSON (Spectral: -f json -o FILE).
# usage: bench/lint.sh [BUILD_DIR]      (default: build-lint, then build)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-}
if [[ -z $build ]]; then
  for b in "$here/build-lint" "$here/build"; do [[ -x $b/bin/evt-lint ]] && { build=$b; break; }; done
fi
lint=$build/bin/evt-lint
[[ -x $lint ]] || { echo "bench/lint.sh: error: no evt-lint in '$build' (build first)" >&2; exit 66; }
gen=${GEN_ASYNCAPI:-$here/../shared/bench/gen-asyncapi.py}
[[ -f $gen ]] || { echo "bench/lint.sh: error: $gen not found (set GEN_ASYNCAPI)" >&2; exit 66; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '| tool | document | size | wall (hyperfine mean ± σ, runs) | peak RSS |\n|---|---|---|---|---|\n'
for n in 1000 10000; do
  doc=$work/bench-$n-3.0.yaml
  python3 "$gen" "$n" 3.0.0 > "$doc"
  size=$(du -h "$doc" | cut -f1)
  runs=20; [[ $n -ge 10000 ]] && runs=10
  hyperfine -N --warmup 2 --runs "$runs" -i --export-json "$work/h.json" "$lint --no-config -f json $doc" >/dev/null 2>&1
  wall=$(python3 -c "import json;r=json.load(open('$work/h.json'))['results'][0];print(f\"{r['mean']*1000:.1f} ms ± {r['stddev']*1000:.1f} ({len(r['times'])})\")")
  rss=$({ /usr/bin/time -f %M "$lint" --no-config -f json "$doc" >/dev/null || true; } 2>&1 | tail -1)
  printf '| evt-lint | %s messages, 3.0 | %s | %s | %s MB |\n' "$n" "$size" "$wall" "$(( rss / 1024 ))"
  if [[ -n ${SPECTRAL:-} && $n -le ${SPECTRAL_MAX:-1000} ]]; then
    printf 'extends: ["spectral:asyncapi"]\n' > "$work/.spectral.yaml"
    sruns=3
    hyperfine -N --warmup 1 --runs "$sruns" -i --export-json "$work/s.json" \
      "$SPECTRAL lint $doc -r $work/.spectral.yaml -f json -o $work/out.json -q" >/dev/null 2>&1
    swall=$(python3 -c "import json;r=json.load(open('$work/s.json'))['results'][0];print(f\"{r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} ({len(r['times'])})\")")
    srss=$({ /usr/bin/time -f %M "$SPECTRAL" lint "$doc" -r "$work/.spectral.yaml" -f json -o "$work/out.json" -q >/dev/null || true; } 2>&1 | tail -1)
    printf '| Spectral %s | %s messages, 3.0 | %s | %s | %s MB |\n' "$("$SPECTRAL" --version)" "$n" "$size" "$swall" "$(( srss / 1024 ))"
  fi
done
