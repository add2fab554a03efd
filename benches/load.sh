#!/usr/bin/env bash
# The load benchmark: what authentication costs in front of an app, against its peers, in one run.
#
# On loopback it starts a separate upstream (nginx returning a fixed body) and, in front of it:
#   nginx      nginx as a plain reverse proxy (no authentication)
#   public     authgate, a public route
#   session    authgate, a protected route, a session cookie
#   bearer     authgate, the same route, a bearer token
#   redis      a second authgate on the Redis store (real redis-server), session cookie
#   authreq    nginx auth_request -> authgate /oauth2/auth (forwarded host, URI, method and
#              Authorization, so a bearer token is judged for its route), session cookie
#   apache     Apache 2.4 (event MPM) + mod_auth_openidc, a relying party of authgate's
#              provider, proxying with mod_proxy_http, its session cookie
#   tlsnginx   nginx proxying to the app over verified TLS (proxy_pass https://, keepalive)
#   tls        authgate, a public route to the same TLS upstream (upstream_tls_ca_file)
#   h2nginx    nginx over TLS with HTTP/2 (listen … ssl http2), h2load as the client
#   h2         authgate's TLS listener with HTTP/2 by ALPN, h2load as the client
# Every proxy gets WORKERS worker threads/processes (default 1); wrk, the upstream and the proxy
# share the two cores, so requests per second mostly say who got the CPU, and CPU per request is
# the fair figure. (Apache's one process runs 64 threads, which may use both cores.)
# wrk drives each with the same connections and duration; the cases run ROUNDS times,
# interleaved, and the table shows medians. Around every run the CPU time (utime + stime from
# /proc/PID/stat) of the case's own processes is read: "µs CPU per request" is that time over the
# requests wrk completed. The upstream's CPU is never counted. Then a burst of sign-ins (32
# connections posting wrong passwords to /login, each every 160 ms: at most 200 a second) runs
# alone, for sign-ins answered per second of authgate's CPU, and again with the session-cookie
# case beside it, for the proxy's latency meanwhile. wrk runs WORKERS threads.
#
#   benches/load.sh          DURATION=10s CONNS=32 ROUNDS=3 WORKERS=1 CASES="nginx public ..."
#   BIN=path                 an authgate binary to measure instead of building one
#   BURST=0                  no sign-in burst
#   KERNEL_CASES="nginx public session"   the kernel-side table: system calls (strace -c on
#                            the case's processes) and context switches per request, from a
#                            run of its own for each case ("" for none)
#   PERF_CASE=session        also `perf record` authgate (or nginx, Apache) during that case's
#                            first round, which perf slows a little;
#                            the report summary goes to $PERF_OUT (default ./perf-<case>.txt),
#                            the samples next to it (.data)
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
ROUNDS=${ROUNDS:-3}
WORKERS=${WORKERS:-1}
CASES=${CASES:-nginx public session bearer redis authreq apache tlsnginx tls h2nginx h2}
PERF_CASE=${PERF_CASE:-}
KERNEL_CASES=${KERNEL_CASES-nginx public session}
BURST=${BURST:-1}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx-light)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
command -v cmake >/dev/null || need+=(cmake)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/sbin/apache2 ] || need+=(apache2)
[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ] || need+=(libapache2-mod-auth-openidc)
[ -z "$PERF_CASE" ] || command -v perf >/dev/null || need+=(linux-perf)
[ -z "$KERNEL_CASES" ] || command -v strace >/dev/null || need+=(strace)
install_needed
authgate_bin

work=$(mktemp -d)
chmod 755 "$work"   # Apache's workers run as nobody when this runs as root
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$work"; }
trap cleanup EXIT


UP=$(port); NGX=$(port); AG=$(port); NGXAUTH=$(port); AGR=$(port); REDIS=$(port); AP=$(port); MET=$(port)
UPS=$(port); NGXTLS=$(port); NGXH2=$(port); AGH2=$(port)

# A CA and a certificate for upstream.test and 127.0.0.1, for the TLS cases.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
  -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=upstream.test" \
  -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:upstream.test,IP:127.0.0.1\n' >"$work/tls.ext"
openssl x509 -req -days 2 -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -extfile "$work/tls.ext" -out "$work/tls.pem" 2>/dev/null

declare -A root   # the process each case's CPU is read from (with its children)
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
  root[$1]=$!
}

# The app: a fast upstream of its own, never counted (plain, and over TLS).
nginx_conf upstream "server { listen 127.0.0.1:$UP; location / { return 200 'hello from the app\n'; } }
  server { listen 127.0.0.1:$UPS ssl; ssl_certificate $work/tls.pem; ssl_certificate_key $work/tls.key;
    keepalive_requests 1000000; location / { return 200 'hello from the app\n'; } }"
# nginx to the TLS upstream, verifying it; and nginx serving HTTP/2 over TLS.
nginx_conf tlsnginx "upstream apps { server 127.0.0.1:$UPS; keepalive 64; }
  server { listen 127.0.0.1:$NGXTLS; location / { proxy_pass https://apps; proxy_http_version 1.1;
    proxy_set_header Connection \"\"; proxy_ssl_verify on; proxy_ssl_trusted_certificate $work/ca.pem;
    proxy_ssl_name upstream.test; proxy_ssl_server_name on; proxy_ssl_session_reuse on; } }"
nginx_conf h2nginx "upstream app { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NGXH2 ssl http2; ssl_certificate $work/tls.pem; ssl_certificate_key $work/tls.key;
    keepalive_requests 1000000;
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
# nginx as a plain reverse proxy.
nginx_conf plain "upstream app { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NGX; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

HASH=$(printf 'bench-password' | "$BIN" hash-password)
SECRET=$(printf 'bench-secret' | "$BIN" hash-secret)
APACHE_SECRET=$(printf 'apache-secret' | "$BIN" hash-secret)
cat >"$work/authgate.toml" <<TOML
[server]
listen = ["127.0.0.1:$AG"]
tls_listen = ["127.0.0.1:$AGH2"]
tls_cert = "$work/tls.pem"
tls_key = "$work/tls.key"
public_url = "http://127.0.0.1:$AG"
metrics_listen = "127.0.0.1:$MET"
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
# The sign-in burst comes from one address: no per-address limit, so every post is verified.
rate_limit = 0
[[users]]
username = "bench"
password_hash = "$HASH"
email = "bench@example.com"
groups = ["staff"]
[[clients]]
client_id = "bench"
client_secret_sha256 = "$SECRET"
redirect_uris = ["http://bench.test/cb"]
[[clients]]
client_id = "apache"
client_secret_sha256 = "$APACHE_SECRET"
redirect_uris = ["http://127.0.0.1:$AP/redirect_uri"]
[[routes]]
host = "public.test"
upstreams = ["127.0.0.1:$UP"]
auth = "public"
[[routes]]
host = "app.test"
upstreams = ["127.0.0.1:$UP"]
allow_groups = ["staff"]
bearer_clients = ["bench"]
[[routes]]
host = "tls.test"
upstreams = ["https://127.0.0.1:$UPS"]
upstream_tls_ca_file = "$work/ca.pem"
upstream_tls_server_name = "upstream.test"
auth = "public"
[[routes]]
host = "upstream.test"
upstreams = ["127.0.0.1:$UP"]
auth = "public"
TOML
RUST_LOG=error "$BIN" --config "$work/authgate.toml" >"$work/audit.log" 2>"$work/authgate.log" & pids+=($!)
root[authgate]=$!

# The same gateway on the Redis store.
redis-server --port "$REDIS" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null & pids+=($!)
root[redis-server]=$!
sed -e "s/127.0.0.1:$AG/127.0.0.1:$AGR/g" -e '/^metrics_listen/d' -e '/^tls_/d' \
  -e "s|^\[session\]|[session]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:$REDIS/0\"|" \
  "$work/authgate.toml" >"$work/authgate-redis.toml"
wait_port "$AG"
RUST_LOG=error "$BIN" --config "$work/authgate-redis.toml" >"$work/audit-redis.log" 2>"$work/authgate-redis.log" & pids+=($!)
root[authgate-redis]=$!

# nginx auth_request in front of authgate's forward-auth.
nginx_conf authreq "upstream app { server 127.0.0.1:$UP; keepalive 64; }
  upstream authgate { server 127.0.0.1:$AG; keepalive 64; }
  server { listen 127.0.0.1:$NGXAUTH;
    location = /authgate-auth { internal; proxy_pass http://authgate/oauth2/auth; proxy_http_version 1.1;
      proxy_set_header Connection \"\"; proxy_pass_request_body off; proxy_set_header Content-Length \"\";
      proxy_set_header Host 127.0.0.1:$AG; proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-Uri \$request_uri; proxy_set_header X-Forwarded-Method \$request_method;
      proxy_set_header X-Forwarded-Proto \$scheme; }
    location / { auth_request /authgate-auth;
      auth_request_set \$user \$upstream_http_x_forwarded_user; auth_request_set \$email \$upstream_http_x_forwarded_email;
      auth_request_set \$groups \$upstream_http_x_forwarded_groups; auth_request_set \$assertion \$upstream_http_x_authgate_assertion;
      proxy_set_header X-Forwarded-User \$user; proxy_set_header X-Forwarded-Email \$email;
      proxy_set_header X-Forwarded-Groups \$groups; proxy_set_header X-Authgate-Assertion \$assertion;
      proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"

# Apache + mod_auth_openidc, a relying party of authgate, in front of the same upstream.
apache_start() {
  local d=$work/apache m=/usr/lib/apache2/modules user=""
  mkdir -p "$d/www" && chmod 755 "$d"
  [ "$(id -u)" = 0 ] && user=$'User nobody\nGroup nogroup'
  cat >"$d/apache.conf" <<APACHE
ServerRoot "$d"
ServerName 127.0.0.1
Listen 127.0.0.1:$AP
PidFile $d/apache.pid
DefaultRuntimeDir $d
ErrorLog $d/error.log
LogLevel error
$user
LoadModule mpm_event_module $m/mod_mpm_event.so
LoadModule authz_core_module $m/mod_authz_core.so
LoadModule authn_core_module $m/mod_authn_core.so
LoadModule authz_user_module $m/mod_authz_user.so
LoadModule proxy_module $m/mod_proxy.so
LoadModule proxy_http_module $m/mod_proxy_http.so
LoadModule auth_openidc_module $m/mod_auth_openidc.so
StartServers $WORKERS
ServerLimit $WORKERS
ThreadLimit 64
ThreadsPerChild 64
MinSpareThreads 1
MaxSpareThreads $((64 * WORKERS))
MaxRequestWorkers $((64 * WORKERS))
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
DocumentRoot $d/www
OIDCProviderMetadataURL http://127.0.0.1:$AG/.well-known/openid-configuration
OIDCClientID apache
OIDCClientSecret apache-secret
OIDCRedirectURI http://127.0.0.1:$AP/redirect_uri
OIDCCryptoPassphrase bench-only-passphrase
OIDCScope "openid email"
OIDCSessionInactivityTimeout 86400
<Location />
  AuthType openid-connect
  Require valid-user
</Location>
ProxyPass /redirect_uri !
ProxyPass / http://127.0.0.1:$UP/ keepalive=On
APACHE
  /usr/sbin/apache2 -f "$d/apache.conf" -DFOREGROUND 2>"$d/stderr.log" & pids+=($!)
  root[apache]=$!
}
apache_start

for p in $UP $NGX $AG $NGXAUTH $AGR $REDIS $AP $MET $UPS $NGXTLS $NGXH2 $AGH2; do wait_port "$p"; done

jar=$work/jar
SESSION=$(sign_in "$AG" "$jar")
SESSION_REDIS=$(sign_in "$AGR" "$work/jar.redis")
[ -n "$SESSION" ] && [ -n "$SESSION_REDIS" ] || { echo "could not sign in" >&2; exit 1; }
# Apache's session: the browser is signed in at authgate, so following the redirects is enough.
cp "$jar" "$work/jar.apache"
curl -s -o /dev/null -L -c "$work/jar.apache" -b "$work/jar.apache" "http://127.0.0.1:$AP/"
APACHE_SESSION=$(awk '$6=="mod_auth_openidc_session"{print $7}' "$work/jar.apache")
[ -n "$APACHE_SESSION" ] || { echo "Apache could not sign in: $(tail -5 "$work/apache/error.log")" >&2; exit 1; }
# A bearer token, the way a client gets one.
back=$(curl -s -o /dev/null -w '%{redirect_url}' -b "$jar" "http://127.0.0.1:$AG/oauth2/authorize?client_id=bench&redirect_uri=http%3A%2F%2Fbench.test%2Fcb&response_type=code&scope=openid")
code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$back")
TOKEN=$(curl -s -u bench:bench-secret --data "grant_type=authorization_code&code=$code&redirect_uri=http%3A%2F%2Fbench.test%2Fcb" "http://127.0.0.1:$AG/oauth2/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cases=($CASES)
declare -A label=(
  [nginx]="nginx plain reverse proxy"
  [public]="authgate, public route"
  [session]="authgate, session cookie"
  [bearer]="authgate, bearer token"
  [redis]="authgate, session cookie, Redis store (+redis)"
  [authreq]="nginx auth_request + authgate (both)"
  [apache]="Apache + mod_auth_openidc, session cookie"
  [tlsnginx]="nginx, TLS upstream (verified)"
  [tls]="authgate, public route, TLS upstream"
  [h2nginx]="nginx, HTTP/2 over TLS (h2load)"
  [h2]="authgate, public route, HTTP/2 over TLS (h2load)"
)
declare -A procs=(
  [nginx]="plain" [public]="authgate" [session]="authgate" [bearer]="authgate"
  [redis]="authgate-redis redis-server" [authreq]="authgate authreq" [apache]="apache"
  [tlsnginx]="tlsnginx" [tls]="authgate" [h2nginx]="h2nginx" [h2]="authgate"
)
case_args() { # case -> A: wrk's (and curl's) headers and URL
  case $1 in
    nginx)   A=("http://127.0.0.1:$NGX/") ;;
    public)  A=(-H "Host: public.test" "http://127.0.0.1:$AG/") ;;
    session) A=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$AG/") ;;
    bearer)  A=(-H "Host: app.test" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AG/") ;;
    redis)   A=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION_REDIS" "http://127.0.0.1:$AGR/") ;;
    authreq) A=(-H "Host: app.test" -H "Cookie: authgate_session=$SESSION" "http://127.0.0.1:$NGXAUTH/") ;;
    apache)  A=(-H "Cookie: mod_auth_openidc_session=$APACHE_SESSION" "http://127.0.0.1:$AP/") ;;
    tlsnginx) A=("http://127.0.0.1:$NGXTLS/") ;;
    tls)     A=(-H "Host: tls.test" "http://127.0.0.1:$AG/") ;;
    h2nginx) A=("https://upstream.test:$NGXH2/") ;;
    h2)      A=("https://upstream.test:$AGH2/") ;;
  esac
}

# Sanity: every case answers 200 from the app.
for c in "${cases[@]}"; do
  case_args "$c"
  body=$(curl -s --http2 --cacert "$work/ca.pem" --resolve "upstream.test:$NGXH2:127.0.0.1" \
    --resolve "upstream.test:$AGH2:127.0.0.1" -w ' %{http_code}' "${A[@]}")
  [ "$body" = "hello from the app
 200" ] || { echo "sanity check failed for $c: $body" >&2; exit 1; }
done
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.test' -H 'Accept: application/json' "http://127.0.0.1:$AG/")" = 401 ] || { echo "app.test is not protected" >&2; exit 1; }


run_case() { # case round -> "rps p50ms p99ms cpu_us_per_request"
  local c=$1 p roots=() before after out perf=""
  case_args "$c"
  for p in ${procs[$c]}; do roots+=("${root[$p]}"); done
  if [ "$c" = "$PERF_CASE" ] && [ "$2" = 1 ]; then
    perf record -q -F 2999 -p "${roots[0]}" -o "$work/perf.data" -- sleep "$(seconds "$DURATION")" 2>/dev/null & perf=$!
  fi
  before=$(ticks "${roots[@]}")
  case $c in
    h2*) local h2port=${A[0]%/}; h2port=${h2port##*:}
         out=$(h2load -c"$CONNS" -m1 -D "$(seconds "$DURATION")" --connect-to="127.0.0.1:$h2port" "${A[@]}" 2>&1) ;;
    *) out=$(wrk -t"$WORKERS" -c"$CONNS" -d"$DURATION" --latency "${A[@]}") ;;
  esac
  after=$(ticks "${roots[@]}")
  if [ -n "$perf" ]; then
    wait "$perf" || true
    out_file=${PERF_OUT:-perf-$c.txt}
    perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -60 >"$out_file"
    cp "$work/perf.data" "${out_file%.txt}.data"
  fi
  awk -v cpu="$((after - before))" -v hz="$HZ" '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    / requests in / { n=$1 } /Requests\/sec/ { rps=$2 } /^ +50%/ { p50=ms($2) } /^ +99%/ { p99=ms($2) } /Non-2xx/ { bad=$NF }
    /^finished in/ { rps=$4 } /^requests: / { n=$8; bad=$10+$12 } /^time for request:/ { p50=ms($6) }
    END { if (bad > 0) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 }
          printf "%.0f %.3f %.3f %.1f\n", rps, p50, p99, cpu * 1e6 / hz / n }' <<<"$out"
}

# Context switches (voluntary + involuntary) of processes, their threads and children.
switches() {
  local t=0 q
  for q in $(family "$@"); do
    t=$((t + $(cat /proc/"$q"/task/*/status 2>/dev/null | awk '/ctxt_switches/{s+=$2} END{print s+0}')))
  done
  echo "$t"
}

kernel_case() { # case -> "syscalls/request|the three most frequent|switches/request"
  local c=$1 p roots=() pids_csv before after out n sw
  case_args "$c"
  for p in ${procs[$c]}; do roots+=("${root[$p]}"); done
  # Context switches from a run of their own: strace's stops would add to them.
  before=$(switches "${roots[@]}")
  out=$(wrk -t1 -c"$CONNS" -d5s "${A[@]}")
  after=$(switches "${roots[@]}")
  sw=$(awk -v d="$((after - before))" '/ requests in /{printf "%.3f", d / $1}' <<<"$out")
  pids_csv=$(family "${roots[@]}" | paste -sd, -)
  strace -c -f -p "$pids_csv" -o "$work/strace.$c" 2>/dev/null & local st=$!
  sleep 1
  out=$(wrk -t1 -c"$CONNS" -d5s "${A[@]}")
  kill -INT "$st"; wait "$st" 2>/dev/null || true
  n=$(awk '/ requests in /{print $1}' <<<"$out")
  awk -v n="$n" -v sw="$sw" '
    $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls[$NF] = $4; total += $4 }
    END { top = ""; k = 0
          while (k < 3) { best = ""; for (s in calls) if (best == "" || calls[s] > calls[best]) best = s
                          if (best == "") break; top = top sprintf("%s %.2f, ", best, calls[best] / n); delete calls[best]; k++ }
          printf "%.2f|%s|%s\n", total / n, substr(top, 1, length(top) - 2), sw }' "$work/strace.$c"
}

upstream_connections() { # "new reused" from authgate's metrics
  curl -s "http://127.0.0.1:$MET/metrics" | awk '
    /^authgate_upstream_connections_total/ { if ($0 ~ /reused="true"/) r=$NF; else n=$NF }
    END { printf "%d %d\n", n, r }'
}
read -r conn_new0 conn_reused0 <<<"$(upstream_connections)"

declare -A results
for round in $(seq "$ROUNDS"); do
  for c in "${cases[@]}"; do
    r=$(run_case "$c" "$round")
    results[$c]+="$r;"
    echo "round $round  $c: $r" >&2
  done
done
read -r conn_new1 conn_reused1 <<<"$(upstream_connections)"

median() { tr ';' '\n' | awk -v f="$1" 'NF{print $f}' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
m() { [ -n "${results[$1]:-}" ] && median "$2" <<<"${results[$1]}" || echo ""; }   # case field
ratio() { [ -n "$1" ] && [ -n "$2" ] && [ "$2" != 0 ] && printf '%.2f' "$(echo "$1 / $2" | bc -l)" || echo "n/a"; }

flooded=""
if [ -n "${results[session]:-}" ] && [ "$BURST" = 1 ]; then
  # Isolation: the session-cookie case during a burst of sign-ins with wrong passwords (each
  # one an argon2 verification): 32 connections, each posting one every 160 ms, so at most
  # 200 sign-ins per second are offered. (A fresh login form: its pending request stays valid
  # through failed attempts.)
  read -r auth csrf <<<"$(login_form "$AG" "$jar.2")"
  cat >"$work/flood.lua" <<LUA
wrk.method = "POST"
wrk.body = "auth=$auth&csrf=$csrf&username=bench&password=wrong"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "authgate_session_csrf=$csrf"
function delay() return 160 end
-- 401: a password verified and refused; anything else (a full verification queue) is counted apart.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) verified = 0; other = 0 end
function response(status, headers, body)
  if status == 401 then verified = verified + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local v, o = 0, 0
  for _, t in ipairs(threads) do v = v + t:get("verified"); o = o + t:get("other") end
  io.write(string.format("verified %d other %d\n", v, o))
end
LUA
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' -H "Cookie: authgate_session_csrf=$csrf" --data "auth=$auth&csrf=$csrf&username=bench&password=wrong" "http://127.0.0.1:$AG/login")" = 401 ] || { echo "login flood request is not a failed sign-in" >&2; exit 1; }
  # The burst alone first: sign-ins answered per second of authgate's CPU.
  before=$(ticks "${root[authgate]}")
  wrk -t1 -c32 -d"$DURATION" -s "$work/flood.lua" "http://127.0.0.1:$AG/login" >"$work/flood.out"
  after=$(ticks "${root[authgate]}")
  signins_per_cpu_s=$(awk -v cpu="$((after - before))" -v hz="$HZ" '/^verified /{printf "%.0f", $2 / (cpu / hz)}' "$work/flood.out")
  alone_rps=$(awk -v d="$(seconds "$DURATION")" '/^verified /{printf "%.0f verified, %.0f turned away", $2 / d, $4 / d}' "$work/flood.out")
  wrk -t1 -c32 -d"$(( $(seconds "$DURATION") + 4 ))s" -s "$work/flood.lua" "http://127.0.0.1:$AG/login" >"$work/flood.out" &
  flood=$!
  sleep 2
  flooded=$(run_case session 0)
  wait "$flood" || true
  flood_rps=$(awk -v d="$(( $(seconds "$DURATION") + 4 ))" '/^verified /{printf "%.0f verified, %.0f turned away", $2 / d, $4 / d}' "$work/flood.out")
fi

echo
echo "wrk -t$WORKERS -c$CONNS -d$DURATION, $WORKERS worker(s) per proxy, median of $ROUNDS interleaved rounds; $(nproc) cores: $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
echo "µs CPU/req: user + system time of the case's own processes (not the upstream's, not wrk's) per request"
echo
row() { printf '| %-47s | %7s | %6s | %6s | %10s | %12s | %10s | %11s |\n' "$@"; }
row "case" "req/s" "p50 ms" "p99 ms" "µs CPU/req" "req/s ÷nginx" "CPU ÷nginx" "CPU ÷public"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-------------------------------------------------" "--------:" "-------:" "-------:" "-----------:" "-------------:" "-----------:" "------------:"
nginx_rps=$(m nginx 1); nginx_cpu=$(m nginx 4); public_cpu=$(m public 4)
for c in "${cases[@]}"; do
  rps=$(m "$c" 1); cpu=$(m "$c" 4)
  row "${label[$c]}" "$rps" "$(m "$c" 2)" "$(m "$c" 3)" "$cpu" "$(ratio "$rps" "$nginx_rps")" "$(ratio "$cpu" "$nginx_cpu")" "$(ratio "$cpu" "$public_cpu")"
done
if [ -n "$flooded" ]; then
  read -r f_rps f_p50 f_p99 _ <<<"$flooded"
  # No CPU figure: authgate's CPU then also hashes the flood's passwords.
  row "session cookie during a sign-in burst" "$f_rps" "$f_p50" "$f_p99" "" "$(ratio "$f_rps" "$nginx_rps")" "" ""
fi
echo
new=$((conn_new1 - conn_new0)); reused=$((conn_reused1 - conn_reused0))
echo "authgate's upstream connections during the rounds: $new new, $reused reused ($(ratio "$((reused * 100))" "$((new + reused))")% reused)"
echo
echo "targets:"
printf '  session cookie CPU/req vs public route:          %sx (target <= 1.08)\n' "$(ratio "$(m session 4)" "$public_cpu")"
printf '  bearer token CPU/req vs public route:            %sx (target <= 1.08)\n' "$(ratio "$(m bearer 4)" "$public_cpu")"
printf '  public route CPU/req vs nginx plain proxy:       %sx (target <= 1.45)\n' "$(ratio "$public_cpu" "$nginx_cpu")"
printf '  session req/s vs Apache + mod_auth_openidc:      %sx (target >= 3)\n' "$(ratio "$(m session 1)" "$(m apache 1)")"
printf '  session CPU/req vs Apache + mod_auth_openidc:    %sx (target <= 0.33)\n' "$(ratio "$(m session 4)" "$(m apache 4)")"
printf '  session p99 vs nginx plain proxy p99:            %sx (target <= 2)\n' "$(ratio "$(m session 3)" "$(m nginx 3)")"
printf '  Redis store vs memory store req/s:               %sx (target >= 0.8)\n' "$(ratio "$(m redis 1)" "$(m session 1)")"
if [ -n "$flooded" ]; then
  printf '  session p99 during the sign-in burst vs without: %sx (the burst, per second: %s)\n' "$(ratio "$f_p99" "$(m session 3)")" "$flood_rps"
  printf '  sign-ins (argon2 verifications) per CPU second:  %s (the burst alone, per second: %s)\n' "$signins_per_cpu_s" "$alone_rps"
fi
if [ -n "$KERNEL_CASES" ]; then
  echo
  echo "kernel side, per request: system calls from a 5 s run under strace -c (which slows it),"
  echo "context switches from a 5 s run without it:"
  echo
  printf '| %-30s | %16s | %-44s | %21s |\n' "case" "syscalls/request" "most frequent, per request" "context switches/req"
  printf '|%s|%s|%s|%s|\n' "--------------------------------" "-----------------:" "----------------------------------------------" "----------------------:"
  for c in $KERNEL_CASES; do
    IFS='|' read -r calls top sw <<<"$(kernel_case "$c")"
    printf '| %-30s | %16s | %-44s | %21s |\n' "${label[$c]}" "$calls" "$top" "$sw"
  done
fi
