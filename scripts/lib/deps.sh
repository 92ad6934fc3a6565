# Installs what Latchkey needs on Debian 12, only when missing. Sourced by scripts/run and
# scripts/test.

LATCHKEY_BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost-dev nlohmann-json3-dev libssl-dev libsodium-dev libsoci-dev libsqlite3-dev
  libmariadb-dev libpq-dev libzxcvbn-dev libcli11-dev libtoml11-dev libspdlog-dev libfmt-dev
  libcrypt-dev libgtest-dev libgmock-dev libcurl4-openssl-dev libkainjow-mustache-dev
  liboath-dev libqrencode-dev libphonenumber-dev libhiredis-dev
)
LATCHKEY_TEST_PACKAGES=(mariadb-server mariadb-client redis-server postgresql curl clang-format openssl oathtool chromium fonts-nanum nginx-light faketime sqlite3
  clang libclang-rt-14-dev llvm-14)  # clang + libFuzzer + llvm-symbolizer: the asan build and fuzz/

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "==> Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

ensure_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
  fi
}
