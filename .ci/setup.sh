# Shared set-up for the README's commands and CI: install what is missing
# from Debian 12's packages, then configure and build evt into build/.
# Sourced, not run: `. .ci/setup.sh`.
set -euo pipefail

EVT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EVT_BUILD=${EVT_BUILD:-$EVT_ROOT/build}
EVT_PACKAGES=(cmake g++ make pkg-config libcli11-dev libfmt-dev libyaml-cpp-dev liblmdb-dev lmdb-utils
    catch2 libsimdjson-dev nlohmann-json3-dev bats man-db python3 python3-jsonschema jq time procps mawk
    libpq-dev libsqlite3-dev postgresql sqlite3 graphviz librdkafka-dev kcat libnats-dev nats-server)

evt_install() {
    local missing=()
    for p in "${EVT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    echo "evt: installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

evt_build() {
    cmake -S "$EVT_ROOT" -B "$EVT_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$EVT_BUILD" -j2
}

evt_install
evt_build
export PATH="$EVT_BUILD/bin:$PATH"
