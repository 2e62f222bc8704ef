#!/usr/bin/env bash
# Brings the whole Pregón stack up or down: a private MariaDB, the sandbox Graph API, the
# FastCGI app, the worker and nginx, all under one state directory (var/ by default).
#
# usage: stack.sh start|stop|run|status
#
# Settings (environment):
#   PREGON_VAR            state directory (default: <repo>/var)
#   PREGON_BUILD          where the binaries are (default: <repo>/build)
#   PREGON_HTTP_PORT      nginx port on 127.0.0.1 (default 8080)
#   PREGON_DB_PORT        private MariaDB port on 127.0.0.1 (default 3307)
#   PREGON_SANDBOX_PORT   sandbox Graph API port on 127.0.0.1 (default 8090)
#   PREGON_FCGI_PROCS     FastCGI processes (default 4)
#   PREGON_WORKERS        worker processes (default 1)
#   PREGON_NO_WORKER=1    start no worker (tests that drive workers themselves)
#   PREGON_MARIADB_OPTS   more mariadbd options, split on spaces (profiling: e.g.
#                         --performance-schema=ON); none by default
# Any other PREGON_<SETTING> overrides that setting of pregon.conf (docs/configuration.md), and
# <repo>/pregon.conf, when present, is read after the generated settings.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VAR=${PREGON_VAR:-$ROOT/var}
BUILD=${PREGON_BUILD:-$ROOT/build}
HTTP_PORT=${PREGON_HTTP_PORT:-8080}
DB_PORT=${PREGON_DB_PORT:-3307}
SANDBOX_PORT=${PREGON_SANDBOX_PORT:-8090}
FCGI_PROCS=${PREGON_FCGI_PROCS:-4}
# At least 3: a process serves one API request at a time, so a long CSV upload or export
# must not leave the panel without a free process.
[ "$FCGI_PROCS" -ge 3 ] || FCGI_PROCS=3
WORKERS=${PREGON_WORKERS:-1}
ME=$(id -un)
RUN_AS=""
if [ "$(id -u)" -eq 0 ]; then RUN_AS=${PREGON_RUN_AS_USER:-nobody}; fi
CONF=$VAR/pregon.conf
RUN=$VAR/run
LOG=$VAR/log

# The sandbox's identity: fixed ids (they are only names), random credentials per install.
SANDBOX_WABA=102290129340398
SANDBOX_PHONE_ID=106540352242922
SANDBOX_DISPLAY=15550001111

say() { printf 'pregon: %s\n' "$*"; }
die() { printf 'pregon: %s\n' "$*" >&2; exit 1; }

admin_sql() { mariadb --defaults-file="$VAR/admin.cnf" --batch --skip-column-names "$@"; }

pid_alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# launch NAME CMD...: runs a service in the background, its output in var/log/NAME.log.
launch() {
    local name=$1
    shift
    if pid_alive "$name"; then
        return 0
    fi
    "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

wait_for() { # wait_for WHAT SECONDS CMD...
    local what=$1 secs=$2
    shift 2
    local i
    for ((i = 0; i < secs * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    die "$what did not come up in ${secs}s (logs in $LOG)"
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

ensure_dirs() {
    mkdir -p "$VAR" "$RUN" "$LOG" "$VAR/db" "$VAR/tmp" \
        "$VAR/nginx/client_body" "$VAR/nginx/proxy" "$VAR/nginx/fastcgi" "$VAR/nginx/uwsgi" \
        "$VAR/nginx/scgi" "$VAR/imports"
    chmod 700 "$VAR/imports"
    chmod 755 "$VAR" "$RUN"
    chmod 700 "$VAR/db" "$VAR/tmp"
}

start_mariadb() {
    if [ ! -d "$VAR/db/mysql" ]; then
        say "creating the private MariaDB in $VAR/db"
        mariadb-install-db --no-defaults --datadir="$VAR/db" --user="$ME" \
            --auth-root-authentication-method=socket --skip-test-db >>"$LOG/mariadb.log" 2>&1 ||
            die "mariadb-install-db failed (see $LOG/mariadb.log)"
    fi
    cat >"$VAR/admin.cnf" <<EOF
[client]
socket=$RUN/mysqld.sock
user=$ME
EOF
    chmod 600 "$VAR/admin.cnf"
    # The redo log holds a million-row audience upload (one transaction, ~250 MB of redo)
    # without checkpoint flushing in the middle of it.
    launch mariadb mariadbd --no-defaults --datadir="$VAR/db" --socket="$RUN/mysqld.sock" \
        --port="$DB_PORT" --bind-address=127.0.0.1 --pid-file="$RUN/mysqld.pid" \
        --log-error="$LOG/mariadb.log" --user="$ME" --skip-name-resolve \
        --innodb-buffer-pool-size=512M --innodb-log-file-size=512M --max-connections=1000 \
        --max-allowed-packet=64M --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci --default-time-zone=+00:00 \
        --innodb-flush-log-at-trx-commit=1 ${PREGON_MARIADB_OPTS:-} # (the default) a webhook's 200 means on disk
    wait_for "MariaDB" 60 mariadb-admin --defaults-file="$VAR/admin.cnf" ping
}

provision_db() {
    if [ ! -s "$VAR/db-password" ]; then
        (umask 077 && random_hex 24 >"$VAR/db-password")
    fi
    local pw
    pw=$(cat "$VAR/db-password")
    admin_sql -e "CREATE DATABASE IF NOT EXISTS pregon CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE USER IF NOT EXISTS 'pregon'@'localhost' IDENTIFIED BY '$pw';
        CREATE USER IF NOT EXISTS 'pregon'@'127.0.0.1' IDENTIFIED BY '$pw';
        ALTER USER 'pregon'@'localhost' IDENTIFIED BY '$pw';
        ALTER USER 'pregon'@'127.0.0.1' IDENTIFIED BY '$pw';"
    "$ROOT/scripts/migrate.sh" "$VAR/admin.cnf" pregon pregon localhost 127.0.0.1
}

write_config() {
    local pw
    pw=$(cat "$VAR/db-password")
    (
        umask 077
        cat >"$CONF.tmp" <<EOF
# Generated by scripts/stack.sh at every start: put your own settings in $ROOT/pregon.conf
# (read after these) or in PREGON_<SETTING> environment variables.
db_host = 127.0.0.1
db_port = $DB_PORT
db_name = pregon
db_user = pregon
db_password = $pw
fcgi_socket = $RUN/pregon-fcgi.sock
fcgi_procs = $FCGI_PROCS
webhook_socket = $RUN/pregon-webhook.sock
webhook_procs = 2
public_url = http://127.0.0.1:$HTTP_PORT
graph_base_url = http://127.0.0.1:$SANDBOX_PORT
secrets_key_file = $VAR/secret.key
import_dir = $VAR/imports
# the dev stack and the tests post events to receivers on this machine (docs/api.md, Hooks)
hooks_allow_targets = loopback
EOF
        [ -n "${NGINX_GROUP:-}" ] && echo "fcgi_socket_group = $NGINX_GROUP" >>"$CONF.tmp"
        # pregon-fcgi and pregon-worker refuse to serve as root: started as root, they become
        # $RUN_AS after binding (lib/privdrop.c); PREGON_RUN_AS_USER names another user.
        [ -n "$RUN_AS" ] && echo "run_as_user = $RUN_AS" >>"$CONF.tmp"
        [ -f "$ROOT/pregon.conf" ] && cat "$ROOT/pregon.conf" >>"$CONF.tmp"
        mv "$CONF.tmp" "$CONF"
    )
    if [ -n "$RUN_AS" ]; then
        # it reads the configuration again on SIGHUP, and sanitizer reports go to $LOG
        chgrp "$(id -gn "$RUN_AS")" "$CONF" && chmod 640 "$CONF"
        chown "$RUN_AS" "$LOG" "$VAR/imports"
    fi
}

ensure_secrets() {
    [ -f "$VAR/secret.key" ] || "$BUILD/bin/pregonctl" -c "$CONF" key-create
    if [ ! -s "$VAR/sandbox.env" ]; then
        (
            umask 077
            cat >"$VAR/sandbox.env" <<EOF
SANDBOX_TOKEN=$(random_hex 24)
SANDBOX_APP_SECRET=$(random_hex 16)
SANDBOX_VERIFY_TOKEN=$(random_hex 12)
EOF
        )
    fi
    # shellcheck disable=SC1091
    . "$VAR/sandbox.env"
    local n
    n=$(admin_sql pregon -e "SELECT COUNT(*) FROM wa_accounts WHERE phone_number_id = '$SANDBOX_PHONE_ID'")
    if [ "$n" = 0 ]; then
        PREGON_ACCESS_TOKEN=$SANDBOX_TOKEN PREGON_APP_SECRET=$SANDBOX_APP_SECRET \
            "$BUILD/bin/pregonctl" -c "$CONF" account-add --sandbox --name "Sandbox" \
            --waba-id "$SANDBOX_WABA" --phone-number-id "$SANDBOX_PHONE_ID" \
            --display-phone "$SANDBOX_DISPLAY" --verify-token "$SANDBOX_VERIFY_TOKEN" >/dev/null
    fi
}

# nginx workers never run as root: when we are root they run as www-data, which must be able
# to read www/ and reach the FastCGI socket (group www-data, mode 0660).
pick_nginx_user() {
    NGINX_USER_LINE=""
    NGINX_GROUP=""
    if [ "$(id -u)" -eq 0 ]; then
        if id www-data >/dev/null 2>&1 &&
            runuser -u www-data -- test -r "$ROOT/www/index.html" -a -x "$RUN" 2>/dev/null; then
            NGINX_USER_LINE="user www-data www-data;"
            NGINX_GROUP=www-data
        else
            say "warning: www-data cannot read $ROOT/www or reach $RUN; nginx workers run as root"
            NGINX_USER_LINE="user root root;"
        fi
    fi
}

write_nginx_conf() {
    sed -e "s|@USER_LINE@|$NGINX_USER_LINE|" -e "s|@VAR@|$VAR|g" -e "s|@WWW@|$ROOT/www|g" \
        -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@FCGI_SOCKET@|$RUN/pregon-fcgi.sock|g" \
        -e "s|@WEBHOOK_SOCKET@|$RUN/pregon-webhook.sock|g" \
        "$ROOT/nginx/pregon-dev.conf.in" >"$VAR/nginx/nginx.conf"
    nginx -t -q -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf" 2>>"$LOG/nginx-error.log" ||
        die "nginx configuration test failed (see $LOG/nginx-error.log)"
}

health_ok() {
    curl -fsS "http://127.0.0.1:$HTTP_PORT/api/health" | grep -q '"database": *"ok"'
}

cmd_start() {
    for b in pregon-fcgi pregon-worker pregon-sandbox pregonctl; do
        [ -x "$BUILD/bin/$b" ] || die "$BUILD/bin/$b is missing: run make first"
    done
    ensure_dirs
    pick_nginx_user
    start_mariadb
    provision_db
    write_config
    ensure_secrets
    # The first superadmin, once: from PREGON_ADMIN_EMAIL/PREGON_ADMIN_PASSWORD, or a random
    # password printed below and nowhere else (pregonctl user-reset-password replaces it).
    local first_admin
    first_admin=$("$BUILD/bin/pregonctl" -c "$CONF" user-init) || die "could not create the first superadmin"
    # shellcheck disable=SC1091
    . "$VAR/sandbox.env"
    PREGON_SANDBOX_ACCESS_TOKEN=$SANDBOX_TOKEN PREGON_SANDBOX_APP_SECRET=$SANDBOX_APP_SECRET \
        launch sandbox "$BUILD/bin/pregon-sandbox" --listen "127.0.0.1:$SANDBOX_PORT" \
        --webhook-url "http://127.0.0.1:$HTTP_PORT/webhook" --waba-id "$SANDBOX_WABA" \
        --phone-number-id "$SANDBOX_PHONE_ID" --display-phone "$SANDBOX_DISPLAY"
    wait_for "the sandbox Graph API" 20 curl -fsS "http://127.0.0.1:$SANDBOX_PORT/_sandbox/health"
    launch fcgi "$BUILD/bin/pregon-fcgi" -c "$CONF"
    # Webhooks have a pool of their own (own socket and processes): nothing in the API pool
    # can slow or end their ingestion.
    launch webhook "$BUILD/bin/pregon-fcgi" -c "$CONF" --pool webhook
    wait_for "the FastCGI app" 20 test -S "$RUN/pregon-fcgi.sock"
    wait_for "the webhook pool" 20 test -S "$RUN/pregon-webhook.sock"
    if [ "${PREGON_NO_WORKER:-0}" != 1 ]; then
        for ((w = 1; w <= WORKERS; w++)); do
            launch "worker$w" "$BUILD/bin/pregon-worker" -c "$CONF"
        done
    fi
    write_nginx_conf
    launch nginx nginx -p "$VAR/nginx" -c "$VAR/nginx/nginx.conf"
    wait_for "nginx and the API" 20 health_ok
    say "Pregón is running: http://127.0.0.1:$HTTP_PORT/"
    say "  API health:     http://127.0.0.1:$HTTP_PORT/api/health"
    say "  webhook:        http://127.0.0.1:$HTTP_PORT/webhook (verify token in $VAR/sandbox.env)"
    say "  sandbox Graph:  http://127.0.0.1:$SANDBOX_PORT/ (no real WhatsApp account configured)"
    say "  MariaDB:        127.0.0.1:$DB_PORT, socket $RUN/mysqld.sock; logs in $LOG"
    if [ "${PREGON_AUTH_MODE:-}" = none ] || grep -qE '^[[:space:]]*auth_mode[[:space:]]*=[[:space:]]*none' "$CONF"; then
        say "  sign-in: OFF (auth_mode = none): whoever reaches 127.0.0.1:$HTTP_PORT is superadmin"
    elif [ -n "$first_admin" ]; then
        say "  sign-in:        $(sed -n 's/^first superadmin created: //p' <<<"$first_admin")"
        say "  password:       $(sed -n 's/^password: //p' <<<"$first_admin")"
    else
        say "  sign-in: with your account (build/bin/pregonctl -c $CONF user-list; user-reset-password)"
    fi
}

stop_one() {
    local name=$1 pid i
    [ -f "$RUN/$name.pid" ] || return 0
    pid=$(cat "$RUN/$name.pid")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name did not stop in 20 s, killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$RUN/$name.pid"
}

cmd_stop() {
    [ -d "$RUN" ] || return 0
    stop_one nginx
    for f in "$RUN"/worker*.pid; do
        [ -e "$f" ] || continue
        stop_one "$(basename "$f" .pid)"
    done
    stop_one fcgi
    stop_one webhook
    stop_one sandbox
    # the other nodes of a test's Galera cluster (tests/integration/galerakit.py)
    for f in "$RUN"/galera[0-9].pid; do
        [ -e "$f" ] || continue
        stop_one "$(basename "$f" .pid)"
    done
    stop_one mariadb
}

cmd_status() {
    local name
    for name in mariadb sandbox fcgi webhook nginx $(cd "$RUN" 2>/dev/null && ls worker*.pid 2>/dev/null | sed 's/\.pid$//'); do
        if pid_alive "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
    done
}

cmd_run() {
    trap 'echo; say "stopping"; cmd_stop; exit 0' INT TERM
    cmd_start
    say "press Ctrl-C to stop everything"
    while true; do
        for f in "$RUN"/*.pid; do
            [ -e "$f" ] || continue
            name=$(basename "$f" .pid)
            [ "$name" = mysqld ] && continue
            if ! kill -0 "$(cat "$f")" 2>/dev/null; then
                say "$name stopped unexpectedly (see $LOG/$name.log); stopping the rest"
                rm -f "$f"
                cmd_stop
                exit 1
            fi
        done
        sleep 1
    done
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
run) cmd_run ;;
status) cmd_status ;;
*) echo "usage: $0 start|stop|run|status" >&2; exit 2 ;;
esac
