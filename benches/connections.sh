#!/usr/bin/env bash
# Connections up to the descriptor limit. On loopback: an app (nginx returning a fixed body,
# never counted), and in front of it nginx as a plain reverse proxy and authgate on a protected
# route with a session cookie. authgate is started with a shell's default soft limit of 1,024
# descriptors (it raises it to the hard limit itself); nginx gets `worker_rlimit_nofile` and
# `worker_connections` at the hard limit. For each count in COUNTS, wrk holds that many
# keep-alive connections for DURATION (`-t2 --timeout 5s`); the table has what wrk saw (socket
# errors, timeouts, non-2xx answers) and how much each proxy's resident memory grew over its
# idle size, midway through the run, per connection held. Both keep up to KEEPALIVE idle
# connections to the app.
#
#   benches/connections.sh     COUNTS="1000 4000 8000" DURATION=30s WORKERS=1 KEEPALIVE=8192
#   BIN=path                   an authgate binary to measure instead of building one
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

COUNTS=${COUNTS:-1000 4000 8000}
DURATION=${DURATION:-30s}
WORKERS=${WORKERS:-1}
# Idle upstream connections each proxy keeps (nginx's `keepalive`, authgate's
# `upstream_keepalive`): as many as clients, so none opens a connection per request.
KEEPALIVE=${KEEPALIVE:-8192}

need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v prlimit >/dev/null || need+=(util-linux)
install_needed
authgate_bin

HARD=$(ulimit -Hn)
ulimit -n "$HARD"   # wrk's side of the connections
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT
UP=$(port); NGX=$(port); AG=$(port)

declare -A root
nginx_conf() { # name workers body
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<NGINX
daemon off; worker_processes $2; worker_rlimit_nofile $HARD; pid $work/$1/pid;
error_log $work/$1/error.log error;
events { worker_connections $HARD; }
http { access_log off; client_body_temp_path $work/$1/body; proxy_temp_path $work/$1/proxy;
  keepalive_requests 1000000; keepalive_timeout 75s;
  $3
}
NGINX
  "$NGINX" -c "$work/$1/nginx.conf" -e "$work/$1/error.log" & pids+=($!)
  root[$1]=$!
}
nginx_conf upstream 2 "server { listen 127.0.0.1:$UP backlog=65535; location / { return 200 'hello from the app\n'; } }"
nginx_conf nginx "$WORKERS" "upstream app { server 127.0.0.1:$UP; keepalive $KEEPALIVE; }
  server { listen 127.0.0.1:$NGX backlog=65535; location / { proxy_pass http://app; proxy_http_version 1.1;
    proxy_set_header Connection \"\"; } }"

HASH=$(printf 'bench-password' | "$BIN" hash-password)
cat >"$work/authgate.toml" <<TOML
[server]
listen = ["127.0.0.1:$AG"]
public_url = "http://127.0.0.1:$AG"
threads = $WORKERS
upstream_keepalive = $KEEPALIVE
access_log = false
[session]
snapshot_file = ""
[tokens]
signing_key_file = "$work/signing.pem"
create_key_if_missing = true
[login]
max_failures = 1000000000
[[users]]
username = "bench"
password_hash = "$HASH"
groups = ["staff"]
[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:$UP"]
allow_groups = ["staff"]
TOML
RUST_LOG=info prlimit --nofile="1024:$HARD" "$BIN" --config "$work/authgate.toml" 2>"$work/authgate.log" & pids+=($!)
root[authgate]=$!
for p in $UP $NGX $AG; do wait_port "$p"; done
SESSION=$(sign_in "$AG" "$work/jar")
[ -n "$SESSION" ] || { echo "could not sign in" >&2; exit 1; }

declare -A idle
for c in nginx authgate; do idle[$c]=$(rss_kib "${root[$c]}"); done
echo "hard descriptor limit $HARD; $(grep -o 'open descriptors: .*' "$work/authgate.log")"
echo "wrk -t2 -cN -d$DURATION --timeout 5s, keep-alive; $WORKERS worker(s) per proxy; $(nproc) cores"
echo
printf '| %-29s | %11s | %7s | %6s | %13s | %8s | %7s | %19s | %15s |\n' "proxy" "connections" "req/s" "p99 ms" "socket errors" "timeouts" "non-2xx" "RSS over idle (MiB)" "KiB/connection"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-------------------------------" "------------:" "--------:" "-------:" "--------------:" "---------:" "--------:" "--------------------:" "----------------:"
for n in $COUNTS; do
  for c in nginx authgate; do
    case $c in
      nginx) args=("http://127.0.0.1:$NGX/"); name="nginx plain reverse proxy" ;;
      authgate) args=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$AG/")
                name="authgate, session cookie" ;;
    esac
    wrk -t2 -c"$n" -d"$DURATION" --timeout 5s --latency "${args[@]}" >"$work/wrk.out" &
    w=$!
    sleep $(( $(seconds "$DURATION") / 2 ))
    grown=$(( $(rss_kib "${root[$c]}") - ${idle[$c]} ))
    wait "$w"
    awk -v n="$n" -v name="$name" -v kib="$grown" '
      function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
      /Requests\/sec/ { rps=$2 } /^ +99%/ { p99=ms($2) } /Non-2xx/ { bad=$NF }
      /Socket errors/ { gsub(",", ""); sock=$4+$6+$8; timeouts=$10 }
      END { printf "| %-29s | %11d | %7.0f | %6.1f | %13d | %8d | %7d | %19.1f | %15.1f |\n",
              name, n, rps, p99, sock, timeouts, bad, kib/1024, kib/n }' "$work/wrk.out"
  done
done
