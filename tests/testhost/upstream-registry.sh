# shellcheck shell=bash
# The container registry and the package mirrors of the test host's upstream network (issue 18). Sourced by
# testhost.sh, whose names ($state, $inst, $netns, $here, log, die, pid_alive, readpid) it uses.
#
#   registry.test (203.0.113.40)
#     :5443  HTTPS (a test CA made at every start, trusted inside the host through
#            /etc/containers/certs.d/registry.test:5443/ca.crt), htpasswd login (user "sandy", a password made
#            at every start, in /etc/testhost/registry.env)
#     :5000  plain HTTP, no login
#     Both are Debian's docker-registry on the same storage ($inst/registry, bound read-write at
#     /srv/testhost-registry so that tests can damage a blob); their access logs are
#     /var/log/testhost/registry-{https,http}.log.
#   203.0.113.41:8080 (mirror.test)  mirror.py: /debian/ (apt) and /npm/ (npm registry) from
#     $SANDY_TEST_CACHE/agents (build-agent-cache.sh); log /var/log/testhost/mirror.log. Builds reach it by
#     address: the build network's resolver drops answers in TEST-NET ranges (stop-dns-rebind).
#   The upstream DNS also answers the API hosts of the agents in examples/ with the internet canary.

REGISTRY_ADDR=203.0.113.40
REGISTRY_NAME=registry.test
REGISTRY_TLS_PORT=5443
REGISTRY_HTTP_PORT=5000
REGISTRY_USER=sandy
MIRROR_ADDR=203.0.113.41
MIRROR_PORT=8080
# The hosts the strict allowlists of examples/*.sandbox name (see the comments there for where they come from).
AGENT_API_HOSTS=(
    api.anthropic.com claude.ai platform.claude.com console.anthropic.com
    api.openai.com auth.openai.com chatgpt.com
    generativelanguage.googleapis.com cloudcode-pa.googleapis.com oauth2.googleapis.com www.googleapis.com
)

upstream_extra_addrs() { echo "$REGISTRY_ADDR" "$MIRROR_ADDR"; }

# The upstream dnsmasq's extra answers, one argument a line.
upstream_dns_args() {
    local h
    printf -- '--address=/%s/%s\n' "$REGISTRY_NAME" "$REGISTRY_ADDR" mirror.test "$MIRROR_ADDR"
    for h in "${AGENT_API_HOSTS[@]}"; do printf -- '--address=/%s/203.0.113.10\n' "$h"; done
}

registry_conf() { # registry_conf NAME ADDR:PORT [tls]
    local tls=""
    if [[ ${3:-} == tls ]]; then
        tls="
  tls:
    certificate: $state/registry/server.crt
    key: $state/registry/server.key"
    fi
    cat <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $inst/registry
  delete:
    enabled: true
http:
  addr: $2$tls
EOF
    if [[ -n $tls ]]; then
        cat <<EOF
auth:
  htpasswd:
    realm: sandy-test-registry
    path: $state/registry/htpasswd
EOF
    fi
}

# Before boot: the CA, the registry's certificate and login, its configuration.
registry_setup() {
    command -v docker-registry >/dev/null || { log "docker-registry is not installed: no registry upstream"; return 0; }
    command -v htpasswd >/dev/null || { log "htpasswd is not installed: no registry upstream"; return 0; }
    local d=$state/registry
    mkdir -p "$d" "$inst/registry"
    chmod 700 "$d"
    (
        set -e
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
            -subj "/CN=sandy test CA ($name)" -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$REGISTRY_NAME" \
            -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=DNS:%s,IP:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' \
            "$REGISTRY_NAME" "$REGISTRY_ADDR" >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3 -extfile server.ext \
            -out server.crt 2>/dev/null
        head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >password
        htpasswd -Bbn "$REGISTRY_USER" "$(cat password)" >htpasswd 2>/dev/null
    ) || die "cannot make the registry's certificate and login"
    registry_conf https "$REGISTRY_ADDR:$REGISTRY_TLS_PORT" tls >"$d/https.yml"
    registry_conf http "$REGISTRY_ADDR:$REGISTRY_HTTP_PORT" >"$d/http.yml"
    touch "$d/enabled"
}

# The test host's side, written into its root before boot: the CA as an admin would install it, and what
# the tests need to know.
registry_instance_files() {
    local m=$1 d=$state/registry agents=""
    [[ -e $d/enabled ]] || return 0
    mkdir -p "$m/etc/containers/certs.d/$REGISTRY_NAME:$REGISTRY_TLS_PORT"
    cp "$d/ca.crt" "$m/etc/containers/certs.d/$REGISTRY_NAME:$REGISTRY_TLS_PORT/ca.crt"
    [[ -d $SANDY_TEST_CACHE/agents ]] && agents=$(readlink -f "$SANDY_TEST_CACHE/agents")
    cat >"$m/etc/testhost/registry.env" <<EOF
REGISTRY=$REGISTRY_NAME:$REGISTRY_TLS_PORT
REGISTRY_PLAIN=$REGISTRY_NAME:$REGISTRY_HTTP_PORT
REGISTRY_ADDR=$REGISTRY_ADDR
REGISTRY_USER=$REGISTRY_USER
REGISTRY_PASSWORD=$(cat "$d/password")
REGISTRY_STORAGE=/srv/testhost-registry
REGISTRY_LOG_TLS=/var/log/testhost/registry-https.log
REGISTRY_LOG_PLAIN=/var/log/testhost/registry-http.log
MIRROR_URL=${agents:+http://$MIRROR_ADDR:$MIRROR_PORT}
MIRROR_LOG=/var/log/testhost/mirror.log
AGENTS_CACHE=$agents
EOF
    chmod 600 "$m/etc/testhost/registry.env"
}

# nspawn arguments for the registry's storage.
registry_nspawn_args() {
    [[ -e $state/registry/enabled ]] && echo "--bind=$inst/registry:/srv/testhost-registry"
    return 0
}

# listening_in_netns ADDR PORT
listening_in_netns() { ip netns exec "$netns" ss -Hltn "src $1 sport = :$2" 2>/dev/null | grep -q .; }

start_registry_services() {
    local d=$state/registry i p
    [[ -e $d/enabled ]] || return 0
    for i in https http; do
        : >"$state/log/registry-$i.log"
        setsid ip netns exec "$netns" docker-registry serve "$d/$i.yml" </dev/null >>"$state/log/registry-$i.log" 2>&1 &
        echo $! >"$state/registry-$i.pid"
    done
    if [[ -d $SANDY_TEST_CACHE/agents ]]; then
        : >"$state/log/mirror.log"
        setsid ip netns exec "$netns" python3 "$here/mirror.py" --listen "$MIRROR_ADDR:$MIRROR_PORT" \
            --root "$(readlink -f "$SANDY_TEST_CACHE/agents")" --log "$state/log/mirror.log" \
            </dev/null >>"$state/mirror.out" 2>&1 &
        echo $! >"$state/mirror.pid"
    fi
    for ((i = 0; i < 100; i++)); do
        if listening_in_netns "$REGISTRY_ADDR" "$REGISTRY_TLS_PORT" && listening_in_netns "$REGISTRY_ADDR" "$REGISTRY_HTTP_PORT" &&
           { [[ ! -e $state/mirror.pid ]] || listening_in_netns "$MIRROR_ADDR" "$MIRROR_PORT"; }; then
            return 0
        fi
        for p in registry-https registry-http mirror; do
            [[ ! -e $state/$p.pid ]] || pid_alive "$(readpid "$p")" || {
                tail -n 20 "$state/log/$p.log" "$state/mirror.out" >&2 2>/dev/null
                die "$p died"
            }
        done
        sleep 0.1
    done
    die "the registry and mirror did not come up"
}
