#!/usr/bin/env bats
# evt-lint driven through real pipes: formats, exit codes, config, events.

setup() {
  LINT="$EVT_BIN/evt-lint"
  FIX="$EVT_SRC/tests/fixtures/lint"
  TMP=$(mktemp -d)
  cd "$FIX"
}

teardown() { rm -rf "$TMP"; }

@test "a clean catalog exits 0 with a summary line" {
  run "$LINT" --no-config good.yaml
  [ "$status" -eq 0 ]
  [ "$output" = "no problems in 1 file" ]
}

@test "findings are FILE:LINE:COL: severity: message [rule-id], with did-you-mean fixes" {
  run "$LINT" --no-config bad.yaml
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "bad.yaml:9:11: error: 'ChargeCard' starts with the command verb 'Charge': an event names a fact that happened; did you mean 'CardCharged'? [naming/no-imperative]" ]
  [[ "$output" == *"bad.yaml:15:11: warning: 'OrderUpdated' is vague: 'Updated' does not say what changed; name the attribute or the business fact [naming/no-vague-verb]"* ]]
  [[ "$output" == *"bad.yaml:21:11: error: 'ReserveCreditCommand' ends in 'Command': that names a command, not an event; did you mean 'CreditReserved'? [naming/no-command-suffix]"* ]]
  [[ "$output" == *"bad.yaml:27:11: error: 'InvoiceIssued' has no producing service [ownership/missing-producer]"* ]]
  [[ "$output" == *"bad.yaml:31:11: error: 'order.placed' duplicates 'OrderPlaced' at line 3 [catalog/duplicate-name]"* ]]
  [ "${lines[-1]}" = "9 problems (6 errors, 3 warnings, 0 infos) in 1 file" ]
}

@test "stdin is read when no file is named" {
  run bash -c "'$LINT' --no-config < bad.yaml"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "<stdin>:9:11: error: 'ChargeCard'"* ]]
}

@test "json output has Spectral's shape with zero-based ranges" {
  run "$LINT" --no-config -f json bad.yaml
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert isinstance(a, list) and len(a) == 9, len(a)
for f in a:
    assert set(f) == {"code", "path", "message", "severity", "range", "source"}, f
    assert f["severity"] in (0, 1, 2) and isinstance(f["path"], list)
    assert set(f["range"]) == {"start", "end"} and set(f["range"]["start"]) == {"line", "character"}
first = a[0]
assert first["code"] == "naming/no-imperative" and first["severity"] == 0
assert first["range"]["start"] == {"line": 8, "character": 10}, first["range"]
assert first["path"] == ["events", "1"], first["path"]
assert first["source"].endswith("/tests/fixtures/lint/bad.yaml")
'
}

@test "sarif output is SARIF 2.1.0 with rules and 1-based regions" {
  run "$LINT" --no-config -f sarif bad.yaml
  [ "$status" -eq 1 ]
  echo "$output" | python3 "$FIX/check-sarif.py"
}

@test "github output uses workflow-command syntax" {
  run "$LINT" --no-config -f github bad.yaml
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "::error file=bad.yaml,line=9,endLine=9,col=11,endColumn=21,title=naming/no-imperative::'ChargeCard' starts with the command verb 'Charge': an event names a fact that happened; did you mean 'CardCharged'?" ]
  [[ "$output" == *"::warning file=bad.yaml,line=15,"* ]]
  for l in "${lines[@]}"; do [[ "$l" =~ ^::(error|warning|notice)\ file=[^,]+,line=[0-9]+,endLine=[0-9]+,col=[0-9]+,endColumn=[0-9]+,title=[a-z]+/[a-z-]+::.+$ ]]; done
}

@test "junit output holds only failing findings, one testsuite per file" {
  run "$LINT" --no-config -f junit bad.yaml good.yaml
  [ "$status" -eq 1 ]
  echo "$output" | python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
suites = root.findall("testsuite")
assert [s.get("name") for s in suites] == ["bad.yaml", "good.yaml"]
cases = suites[0].findall("testcase")
assert len(cases) == 6 and suites[0].get("failures") == "6", len(cases)
assert cases[0].get("name") == "org.evt.lint.naming/no-imperative(#/events/1)"
assert all(c.find("failure") is not None for c in cases)
assert suites[1].findall("testcase") == []
'
}

@test "exit 64 for a bad flag or value" {
  run "$LINT" --no-such-flag
  [ "$status" -eq 64 ]
  [[ "${lines[0]}" == "evt-lint: error: "* ]]
  run "$LINT" -f yaml good.yaml
  [ "$status" -eq 64 ]
}

@test "exit 65 with a located parse/invalid-document finding for malformed YAML" {
  run "$LINT" --no-config broken.yaml
  [ "$status" -eq 65 ]
  [[ "${lines[0]}" == "broken.yaml:5:"*": error: malformed YAML/JSON: "*" [parse/invalid-document]" ]]
  [[ "$output" == *"evt-lint: error: some input could not be read"* ]]
}

@test "a broken \$ref is a located finding, not a crash" {
  run "$LINT" --no-config broken-ref.yaml
  [ "$status" -eq 1 ]
  [ "${lines[0]}" = "broken-ref.yaml:9:13: error: cannot resolve \$ref 'schemas/missing.json': schemas/missing.json: no such file [parse/invalid-document]" ]
}

@test "exit 66 for a missing file or config" {
  run "$LINT" --no-config nope.yaml
  [ "$status" -eq 66 ]
  [ "$output" = "evt-lint: error: nope.yaml: no such file" ]
  run "$LINT" -c nope.evtlint.yaml good.yaml
  [ "$status" -eq 66 ]
}

@test "exit 74 when stdout cannot be written" {
  run bash -c "'$LINT' --no-config bad.yaml > /dev/full"
  [ "$status" -eq 74 ]
  [[ "$output" == "evt-lint: error: write error"* ]]
}

@test "--fail-severity, --max-warnings and -q change the verdict, not the findings" {
  run "$LINT" --no-config -q ignore-inline.yaml
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  run "$LINT" --no-config -F warn "$FIX/asyncapi/streetlights-mqtt-2.6.yml"
  [ "$status" -eq 1 ]
  cp bad.yaml "$TMP/only-warnings.yaml"
  printf 'rules: {naming/no-imperative: off, naming/no-command-suffix: off, ownership/missing-producer: off, payload/missing: off, catalog/duplicate-name: off}\n' > "$TMP/.evtlint.yaml"
  run "$LINT" -c "$TMP/.evtlint.yaml" "$TMP/only-warnings.yaml"
  [ "$status" -eq 0 ]
  run "$LINT" -c "$TMP/.evtlint.yaml" --max-warnings 1 "$TMP/only-warnings.yaml"
  [ "$status" -eq 1 ]
  [[ "$output" == *"evt-lint: error: 3 warnings exceed --max-warnings 1"* ]]
}

@test "the config is found by walking up from the working directory" {
  cd "$FIX/project/sub/deeper"
  run "$LINT" catalog.yaml
  [ "$status" -eq 1 ]
  [[ "$output" != *"naming/no-imperative"* ]]
  [[ "$output" == *"catalog.yaml:31:11: error: 'order.placed' has no version [doc/missing-version]"* ]]
  [[ "$output" == *"evt-lint: warning: "*"/project/.evtlint.yaml:4:3: unknown rule 'not/a-rule'"* ]]
  run "$LINT" --no-config catalog.yaml
  [[ "$output" == *"[naming/no-imperative]"* ]]
}

@test "overrides by file and JSON pointer, rule options and vocabulary from --config" {
  run "$LINT" -c overrides.evtlint.yaml bad.yaml
  [ "$status" -eq 1 ]
  [[ "$output" != *"'ChargeCard' starts with"* ]]
  [[ "$output" == *"'ReserveCreditCommand' starts with the command verb"* ]]
  [[ "$output" == *"bad.yaml:15:11: error: 'OrderUpdated' is vague"* ]]
}

@test "inline x-evtlint-ignore silences one rule for one message" {
  run "$LINT" --no-config ignore-inline.yaml
  [ "$status" -eq 1 ]
  [[ "$output" != *"ChargeCard"* ]]
  [[ "$output" == *"'SendInvoice' starts with the command verb 'Send'"*"did you mean 'InvoiceSent'?"* ]]
}

@test "--events lints the types of an NDJSON stream with counts" {
  run "$LINT" --no-config --events events.ndjson
  [ "$status" -eq 1 ]
  [[ "$output" == *"events.ndjson:3:2: error: 'ChargeCard' starts with the command verb 'Charge': an event names a fact that happened; did you mean 'CardCharged'? (2 events) [naming/no-imperative]"* ]]
  [[ "$output" == *"'OrderPlaced' is not a reverse-DNS CloudEvents type"*"(3 events) [naming/cloudevents-type]"* ]]
  [[ "$output" != *"com.acme.order.shipped.v1"* ]]
  [ "${lines[-1]}" = "3 problems (1 error, 2 warnings, 0 infos) in 1 file, 3 event types in 6 events" ]
  run bash -c "'$LINT' --no-config --events < events.ndjson"
  [ "$status" -eq 1 ]
  [[ "$output" == *"<stdin>:3:2: error: 'ChargeCard'"* ]]
}

@test "--events: a malformed line is a located finding and exit 65" {
  run "$LINT" --no-config --events events-bad.ndjson
  [ "$status" -eq 65 ]
  [[ "$output" == *"events-bad.ndjson:2:1: error: malformed JSON event, or not a JSON object [parse/invalid-document]"* ]]
}

@test "real AsyncAPI 2.6 and 3.x documents: located findings, producers from subscribe/send" {
  run "$LINT" --no-config asyncapi/streetlights-mqtt-2.6.yml asyncapi/streetlights-kafka-3.yml
  [ "$status" -eq 1 ]
  [[ "$output" == *"asyncapi/streetlights-mqtt-2.6.yml:113:13: error: 'dimLight' starts with the command verb 'dim': an event names a fact that happened; did you mean 'lightDimmed'? [naming/no-imperative]"* ]]
  [[ "$output" == *"asyncapi/streetlights-mqtt-2.6.yml:96:13: error: 'lightMeasured' has no producing service [ownership/missing-producer]"* ]]
  [[ "$output" == *"asyncapi/streetlights-kafka-3.yml:123:13: error: 'turnOnOff' starts with the command verb 'turn'"* ]]
  [[ "$output" != *"'dimLight' has no producing service"* ]]
  run "$LINT" --no-config --flip-direction asyncapi/streetlights-mqtt-2.6.yml
  [[ "$output" != *"'lightMeasured' has no producing service"* ]]
  [[ "$output" == *"'dimLight' has no producing service"* ]]
}

@test "AsyncAPI in JSON, with a \$ref to another file and traits merged" {
  run "$LINT" --no-config asyncapi/orders-2.4.json
  [ "$status" -eq 1 ]
  [[ "$output" == *"asyncapi/orders-2.4.json:"*"'ShipOrder' starts with the command verb 'Ship'"*"did you mean 'OrderShipped'?"* ]]
  [[ "$output" != *"'OrderPlaced' has no summary"* ]]
  [[ "$output" == *"'PaymentCaptured' has no producing service"* ]]
}

@test "every example catalog validates against schemas/catalog.schema.json" {
  python3 -c 'import jsonschema, yaml' 2>/dev/null || skip "python3 jsonschema/yaml missing"
  run python3 "$FIX/check-schema.py" "$EVT_SRC/schemas/catalog.schema.json" good.yaml bad.yaml ignore-inline.yaml \
      "$EVT_SRC/examples/lint/catalog-bad.yaml" "$EVT_SRC/examples/lint/catalog-fixed.yaml"
  [ "$status" -eq 0 ]
  run python3 "$FIX/check-schema.py" "$EVT_SRC/schemas/catalog.schema.json" schema-invalid.yaml
  [ "$status" -eq 1 ]
}

@test "--help shows the man page SYNOPSIS; --list-rules lists every rule" {
  run "$LINT" --help
  [ "$status" -eq 0 ]
  synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$EVT_SRC/man/evt-lint.1" | grep '^evt-lint')
  while IFS= read -r l; do [[ "$output" == *"$l"* ]]; done <<< "$synopsis"
  run "$LINT" --list-rules
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 22 ]
  [[ "${lines[0]}" == "naming/past-tense"$'\t'"error"$'\t'* ]]
}

@test "examples/lint/run.sh prints exactly examples/lint/expected.txt" {
  run "$EVT_SRC/examples/lint/run.sh" "$LINT"
  [ "$status" -eq 0 ]
  diff <(printf '%s\n' "$output") "$EVT_SRC/examples/lint/expected.txt"
}

@test "NDJSON CloudEvents are recognised without --events" {
  printf '%s\n' '{"specversion":"1.0","type":"SendInvoice","id":"1","source":"/x"}' \
                '{"specversion":"1.0","type":"com.acme.billing.invoice.sent.v1","id":"2","source":"/x"}' > "$TMP/stream.ndjson"
  run bash -c "'$LINT' --no-config < '$TMP/stream.ndjson'"
  [ "$status" -eq 1 ]
  [[ "$output" == *"<stdin>:1:"*"'SendInvoice' starts with the command verb 'Send'"*"(1 event) [naming/no-imperative]"* ]]
  [ "${lines[-1]}" = "2 problems (1 error, 1 warning, 0 infos) in 1 file, 2 event types in 2 events" ]
}
