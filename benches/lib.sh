# Helpers shared by the load benchmarks (sourced by benches/load.sh and benches/connections.sh).

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
# Installs the Debian packages named in the array `need`, if any.
install_needed() {
  if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${need[@]}"
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
}
# The authgate binary to measure: $BIN, or a release build of this tree.
authgate_bin() {
  if [ -z "${BIN:-}" ]; then
    cargo build --release -q
    BIN=$PWD/target/release/authgate
  fi
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; exit 1; }

# The hidden fields of a fresh login form (at the gateway on port $1, the jar $2): "auth csrf".
login_form() {
  local login page
  login=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$2" -b "$2" "http://127.0.0.1:$1/login")
  page=$(curl -s -c "$2" -b "$2" "$login")
  echo "$(sed -n 's/.*name="auth" value="\([^"]*\)".*/\1/p' <<<"$page") $(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")"
}
# A session cookie (at the gateway on port $1, the jar $2) the way a browser gets one.
sign_in() {
  local auth csrf
  read -r auth csrf <<<"$(login_form "$1" "$2")"
  curl -s -o /dev/null -c "$2" -b "$2" --data "auth=$auth&csrf=$csrf&username=bench&password=bench-password" "http://127.0.0.1:$1/login"
  awk '$6=="authgate_session"{print $7}' "$2"
}

# The processes given and their children.
family() { local p; for p in "$@"; do echo "$p"; pgrep -P "$p" || true; done; }
# CPU time (clock ticks) of processes and their children.
ticks() {
  local t=0 q
  for q in $(family "$@"); do
    t=$((t + $(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$q/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)
seconds() { case $1 in *m) echo $(( ${1%m} * 60 )) ;; *s) echo "${1%s}" ;; *) echo "$1" ;; esac; }
# Resident memory (KiB) of processes and their children.
rss_kib() {
  local t=0 q
  for q in $(family "$@"); do
    t=$((t + $(awk '/^VmRSS:/{print $2}' "/proc/$q/status" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
