#!/usr/bin/env bash
# The load benchmark: what authentication costs in front of an app, against nginx, in one run.
#
# On loopback it starts a fast upstream (nginx returning a fixed body), nginx as a plain reverse
# proxy, authgate (public route, session-cookie route, bearer-token route), a second authgate
# with the Redis store (session-cookie route, real redis-server), and nginx
# auth_request -> authgate /oauth2/auth. Every proxy gets WORKERS worker threads (default 1, so
# that wrk has the other core). wrk drives each with the same connections and duration; the set
# is repeated ROUNDS times, interleaved; the table shows medians. Then the session-cookie case
# runs again while 32 connections post wrong passwords to /login.
#
#   benches/load.sh                  DURATION=10s CONNS=50 ROUNDS=3 WORKERS=1 by default
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
command -v cmake >/dev/null || need+=(cmake)
command -v redis-server >/dev/null || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -q && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${need[@]}"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

cargo build --release -q
BIN=$PWD/target/release/authgate

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 did not open" >&2; exit 1; }

UP=$(port); NGX=$(port); AG=$(port); NGXAUTH=$(port); AGR=$(port); REDIS=$(port)

nginx_conf() { # name body
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<NGINX
daemon off; worker_processes $WORKERS; pid $work/$1/pid; error_log $work/$1/error.log error;
events { worker_connections 4096; }
http {
  access_log off; client_body_temp_path $work/$1/body; proxy_temp_path $work/$1/proxy;
  keepalive_requests 1000000;
  $2
}
NGINX
  "$NGINX" -c "$work/$1/nginx.conf" -e "$work/$1/error.log" & pids+=($!)
}

# The app: a fast upstream.
nginx_conf upstream "server { listen 127.0.0.1:$UP; location / { return 200 'hello from the app\n'; } }"
# nginx as a plain reverse proxy.
nginx_conf plain "upstream app { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NGX; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

HASH=$(printf 'bench-password' | "$BIN" hash-password)
SECRET=$(printf 'bench-secret' | "$BIN" hash-secret)
cat >"$work/authgate.toml" <<TOML
[server]
listen = ["127.0.0.1:$AG"]
public_url = "http://127.0.0.1:$AG"
threads = $WORKERS
trusted_proxies = ["127.0.0.1/32"]
access_log = false
[session]
snapshot_file = ""
[tokens]
signing_key_file = "$work/signing.pem"
create_key_if_missing = true
access_token_ttl = "1h"
[login]
max_failures = 1000000000
[[users]]
username = "bench"
password_hash = "$HASH"
email = "bench@example.com"
groups = ["staff"]
[[clients]]
client_id = "bench"
client_secret_sha256 = "$SECRET"
redirect_uris = ["http://bench.test/cb"]
[[routes]]
host = "public.test"
upstreams = ["127.0.0.1:$UP"]
auth = "public"
[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:$UP"]
allow_groups = ["staff"]
bearer_clients = ["bench"]
TOML
RUST_LOG=error "$BIN" --config "$work/authgate.toml" 2>"$work/authgate.log" & pids+=($!)

# The same gateway on the Redis store.
redis-server --port "$REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null & pids+=($!)
sed -e "s/127.0.0.1:$AG/127.0.0.1:$AGR/g" -e "s|^\[session\]|[session]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:$REDIS/0\"|" \
  "$work/authgate.toml" >"$work/authgate-redis.toml"
wait_port "$AG"
RUST_LOG=error "$BIN" --config "$work/authgate-redis.toml" 2>"$work/authgate-redis.log" & pids+=($!)

# nginx auth_request in front of authgate's forward-auth.
nginx_conf authreq "upstream app { server 127.0.0.1:$UP; keepalive 64; }
  upstream authgate { server 127.0.0.1:$AG; keepalive 64; }
  server { listen 127.0.0.1:$NGXAUTH;
    location = /authgate-auth { internal; proxy_pass http://authgate/oauth2/auth; proxy_http_version 1.1;
      proxy_set_header Connection \"\"; proxy_pass_request_body off; proxy_set_header Content-Length \"\";
      proxy_set_header Host 127.0.0.1:$AG; proxy_set_header X-Forwarded-Host \$host; proxy_set_header X-Forwarded-Uri \$request_uri; }
    location / { auth_request /authgate-auth; auth_request_set \$u \$upstream_http_x_forwarded_user;
      proxy_set_header X-Forwarded-User \$u; proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

for p in $UP $NGX $AG $NGXAUTH $AGR $REDIS; do wait_port "$p"; done

# A session cookie (at the gateway on port $1, the jar $2) the way a browser gets one.
sign_in() {
  local login page auth csrf
  login=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$2" -b "$2" "http://127.0.0.1:$1/login")
  page=$(curl -s -c "$2" -b "$2" "$login")
  auth=$(sed -n 's/.*name="auth" value="\([^"]*\)".*/\1/p' <<<"$page")
  csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")
  curl -s -o /dev/null -c "$2" -b "$2" --data "auth=$auth&csrf=$csrf&username=bench&password=bench-password" "http://127.0.0.1:$1/login"
  awk '$6=="authgate_session"{print $7}' "$2"
}
jar=$work/jar
SESSION=$(sign_in "$AG" "$jar")
SESSION_REDIS=$(sign_in "$AGR" "$work/jar.redis")
[ -n "$SESSION" ] && [ -n "$SESSION_REDIS" ] || { echo "could not sign in" >&2; exit 1; }
# A bearer token, the way a client gets one.
back=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" "http://127.0.0.1:$AG/oauth2/authorize?client_id=bench&redirect_uri=http%3A%2F%2Fbench.test%2Fcb&response_type=code&scope=openid")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
TOKEN=$(curl -s -u bench:bench-secret --data "grant_type=authorization_code&code=$code&redirect_uri=http%3A%2F%2Fbench.test%2Fcb" "http://127.0.0.1:$AG/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

# Sanity: every case answers 200 from the app.
check() { local code; code=$(curl -s -o /dev/null -w '%{http_code}' "$@"); [ "$code" = 200 ] || { echo "sanity check failed ($code): $*" >&2; exit 1; }; }
check "http://127.0.0.1:$NGX/"
check -H "Host: public.test" "http://127.0.0.1:$AG/"
check -H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$AG/"
check -H "Host: app.test" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AG/"
check -H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$NGXAUTH/"
check -H "Host: app.test" -H "Cookie: authgate_session=$SESSION_REDIS" "http://127.0.0.1:$AGR/"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.test' -H 'Accept: application/json' "http://127.0.0.1:$AG/")" = 401 ] || { echo "app.test is not protected" >&2; exit 1; }

cases=(nginx public session redis bearer authreq)
declare -A label=(
  [nginx]="nginx plain reverse proxy"
  [public]="authgate, public route"
  [session]="authgate, required route, session cookie"
  [redis]="authgate, session cookie, Redis store"
  [bearer]="authgate, required route, bearer token"
  [authreq]="nginx auth_request + authgate /oauth2/auth"
)
run_case() { # case -> "rps p50ms p99ms"
  local args
  case $1 in
    nginx)   args=("http://127.0.0.1:$NGX/") ;;
    public)  args=(-H "Host: public.test" "http://127.0.0.1:$AG/") ;;
    session) args=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$AG/") ;;
    redis)   args=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION_REDIS" "http://127.0.0.1:$AGR/") ;;
    bearer)  args=(-H "Host: app.test" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AG/") ;;
    authreq) args=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$NGXAUTH/") ;;
  esac
  wrk -t1 -c"$CONNS" -d"$DURATION" --latency "${args[@]}" | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /Requests\/sec/ { rps=$2 } /^ +50%/ { p50=ms($2) } /^ +99%/ { p99=ms($2) } /Non-2xx/ { bad=$NF }
    END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 } printf "%.0f %.3f %.3f\n", rps, p50, p99 }'
}

declare -A results
for round in $(seq "$ROUNDS"); do
  for c in "${cases[@]}"; do
    r=$(run_case "$c")
    results[$c]+="$r;"
    echo "round $round  $c: $r" >&2
  done
done

# Isolation: the session-cookie case while 32 connections post wrong passwords.
# (a fresh login form: its pending request stays valid through failed attempts)
login=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar.2" "http://127.0.0.1:$AG/login")
page=$(curl -s -c "$jar.2" -b "$jar.2" "$login")
auth=$(sed -n 's/.*name="auth" value="\([^"]*\)".*/\1/p' <<<"$page")
csrf=$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$page")
cat >"$work/flood.lua" <<LUA
wrk.method = "POST"
wrk.body = "auth=$auth&csrf=$csrf&username=bench&password=wrong"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "authgate_session_csrf=$csrf"
LUA
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' -H "Cookie: authgate_session_csrf=$csrf" --data "auth=$auth&csrf=$csrf&username=bench&password=wrong" "http://127.0.0.1:$AG/login")" = 401 ] || { echo "login flood request is not a failed sign-in" >&2; exit 1; }
flood_secs=$(( ${DURATION%s} + 4 ))
wrk -t1 -c32 -d"${flood_secs}s" -s "$work/flood.lua" "http://127.0.0.1:$AG/login" >"$work/flood.out" &
flood=$!
sleep 2
flooded=$(run_case session)
wait "$flood" || true
flood_rps=$(awk '/Requests\/sec/{print $2}' "$work/flood.out")

median() { tr ';' '\n' | awk -v f="$1" 'NF{print $f}' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
base_rps=$(median 1 <<<"${results[nginx]}")
base_p99=$(median 3 <<<"${results[nginx]}")
authreq_rps=$(median 1 <<<"${results[authreq]}")
public_rps=$(median 1 <<<"${results[public]}")
session_rps=$(median 1 <<<"${results[session]}")
redis_rps=$(median 1 <<<"${results[redis]}")

echo
echo "wrk -t1 -c$CONNS -d$DURATION, $WORKERS worker thread(s) per proxy, median of $ROUNDS interleaved rounds; $(nproc) cores: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo
printf '| %-45s | %9s | %8s | %8s | %10s |\n' "case" "req/s" "p50 ms" "p99 ms" "vs nginx"
printf '|%s|%s|%s|%s|%s|\n' "-----------------------------------------------" "-----------" "----------" "----------" "------------"
for c in "${cases[@]}"; do
  rps=$(median 1 <<<"${results[$c]}"); p50=$(median 2 <<<"${results[$c]}"); p99=$(median 3 <<<"${results[$c]}")
  printf '| %-45s | %9s | %8s | %8s | %9.2fx |\n' "${label[$c]}" "$rps" "$p50" "$p99" "$(echo "$rps / $base_rps" | bc -l)"
done
read -r f_rps f_p50 f_p99 <<<"$flooded"
printf '| %-45s | %9s | %8s | %8s | %9.2fx |\n' "session cookie during a /login flood (32 conns)" "$f_rps" "$f_p50" "$f_p99" "$(echo "$f_rps / $base_rps" | bc -l)"
echo
echo "targets:"
printf '  authenticated (session) vs nginx plain proxy:   %.2fx (target >= 1.2)\n' "$(echo "$session_rps / $base_rps" | bc -l)"
printf '  authenticated vs nginx + auth_request:          %.2fx (target >= 4)\n' "$(echo "$session_rps / $authreq_rps" | bc -l)"
printf '  authenticated p99 vs nginx plain proxy p99:     %s ms vs %s ms (target <=)\n' "$(median 3 <<<"${results[session]}")" "$base_p99"
printf '  authenticated vs authgate public route:         %.2fx (target >= 0.9)\n' "$(echo "$session_rps / $public_rps" | bc -l)"
printf '  Redis store vs memory store (session cookie):   %.2fx (target >= 0.8)\n' "$(echo "$redis_rps / $session_rps" | bc -l)"
printf '  session cookie during login flood vs without:   %.2fx (target >= 0.8; flood answered %s logins/s)\n' "$(echo "$f_rps / $session_rps" | bc -l)" "$flood_rps"
