#!/usr/bin/env bash
# Prepares a shared-hosting install from the unpacked bundle (make bundle), as the hosting
# account's own user: no root, one database user, Apache with mod_fcgid, cron.
#
#   scripts/setup-shared.sh --web DIR --public-url URL --db-name N --db-user U
#       [--db-host H] [--db-port P] [--db-socket S] --admin-email E
#       [--sandbox URL | --account]
#
# The database password comes from $PREGON_DB_PASSWORD, the first admin's from
# $PREGON_ADMIN_PASSWORD (else a random one is printed once); a real account's token and app
# secret from $PREGON_ACCESS_TOKEN and $PREGON_APP_SECRET with --account (and --waba-id,
# --phone-number-id, --display-phone, --verify-token). Never on the command line.
#
# It writes pregon.conf and var/ (the key, the database defaults file, the lock, logs) in the
# install folder, applies the migrations, creates the first superadmin and the account, puts
# the panel, .htaccess and pregon.fcgi into the web folder and prints the cron line. Running
# it again keeps what exists (the key, the configuration, users, accounts).
set -euo pipefail

home=$(cd "$(dirname "$0")/.." && pwd -P)
web="" public_url="" db_name="" db_user="" db_host=127.0.0.1 db_port=3306 db_socket=""
admin_email="" sandbox="" account=0 waba="" phone_id="" display="" verify=""
while [ $# -gt 0 ]; do
    case "$1" in
    --web) web=$2; shift ;;
    --public-url) public_url=$2; shift ;;
    --db-name) db_name=$2; shift ;;
    --db-user) db_user=$2; shift ;;
    --db-host) db_host=$2; shift ;;
    --db-port) db_port=$2; shift ;;
    --db-socket) db_socket=$2; shift ;;
    --admin-email) admin_email=$2; shift ;;
    --sandbox) sandbox=$2; shift ;;
    --account) account=1 ;;
    --waba-id) waba=$2; shift ;;
    --phone-number-id) phone_id=$2; shift ;;
    --display-phone) display=$2; shift ;;
    --verify-token) verify=$2; shift ;;
    *) echo "setup: unknown option $1 (see the top of $0)" >&2; exit 2 ;;
    esac
    shift
done
die() { echo "setup: $*" >&2; exit 1; }
[ -n "$web" ] && [ -n "$public_url" ] && [ -n "$db_name" ] && [ -n "$db_user" ] &&
    [ -n "$admin_email" ] || die "--web, --public-url, --db-name, --db-user and --admin-email are required"
[ -n "${PREGON_DB_PASSWORD:-}" ] || die "set PREGON_DB_PASSWORD to the database user's password"
if [ -n "$sandbox" ] && [ $account = 1 ]; then die "--sandbox or --account, not both"; fi
case "$db_name$db_user" in *[!A-Za-z0-9_]*) die "database and user names must be [A-Za-z0-9_]" ;; esac

export PREGON_HOME=$home PREGON_CONFIG=$home/pregon.conf
umask 077
mkdir -p "$home/var/run" "$home/var/log" "$home/var/imports"

# The database: a defaults file for the migrations (the password stays out of `ps`).
{
    echo "[client]"
    echo "user=$db_user"
    echo "password=$PREGON_DB_PASSWORD"
    if [ -n "$db_socket" ]; then echo "socket=$db_socket"; else
        echo "host=$db_host"
        echo "port=$db_port"
    fi
} >"$home/var/db.cnf"
command -v mariadb >/dev/null || command -v mysql >/dev/null ||
    die "the mariadb (or mysql) client is needed for the migrations"

if [ ! -f "$PREGON_CONFIG" ]; then
    cat >"$PREGON_CONFIG.tmp" <<EOF
# Written by scripts/setup-shared.sh; relative paths are under PREGON_HOME ($home).
db_host = $db_host
db_port = $db_port
db_socket = $db_socket
db_name = $db_name
db_user = $db_user
db_password = $PREGON_DB_PASSWORD
fcgi_procs = 1
public_url = $public_url
secrets_key_file = var/secret.key
worker_lock_file = var/run/pregon-worker.lock
import_dir = var/imports
log_file = var/log/pregon.log
EOF
    [ -z "$sandbox" ] || echo "graph_base_url = $sandbox" >>"$PREGON_CONFIG.tmp"
    mv "$PREGON_CONFIG.tmp" "$PREGON_CONFIG"
fi

ctl() { "$home/bin/pregonctl" -c "$PREGON_CONFIG" "$@"; }
[ -f "$home/var/secret.key" ] || ctl key-create
# mariadb is the client's name on MariaDB hosts; migrate.sh calls it.
if ! command -v mariadb >/dev/null; then
    mkdir -p "$home/var/bin"
    ln -sf "$(command -v mysql)" "$home/var/bin/mariadb"
    PATH=$home/var/bin:$PATH
fi
"$home/scripts/migrate.sh" "$home/var/db.cnf" "$db_name" "$db_user"
ctl check >/dev/null || die "pregonctl check failed: see the message above"

PREGON_ADMIN_EMAIL=$admin_email ctl user-init

count_accounts() {
    mariadb --defaults-file="$home/var/db.cnf" --batch --skip-column-names "$db_name" \
        -e "SELECT COUNT(*) FROM wa_accounts"
}
if [ "$(count_accounts)" = 0 ]; then
    if [ -n "$sandbox" ]; then
        # The sandbox's test number (docs/sandbox.md); its token and secret are the sandbox's.
        PREGON_ACCESS_TOKEN=${PREGON_ACCESS_TOKEN:-sandbox-token} \
            PREGON_APP_SECRET=${PREGON_APP_SECRET:-sandbox-secret} \
            ctl account-add --sandbox --name Sandbox --waba-id "${waba:-100000000000001}" \
            --phone-number-id "${phone_id:-100000000000002}" \
            --display-phone "${display:-+54 9 11 5555-0000}" --verify-token "${verify:-sandbox}"
    elif [ $account = 1 ]; then
        [ -n "$waba" ] && [ -n "$phone_id" ] || die "--account needs --waba-id and --phone-number-id"
        [ -n "${PREGON_ACCESS_TOKEN:-}" ] && [ -n "${PREGON_APP_SECRET:-}" ] ||
            die "--account needs PREGON_ACCESS_TOKEN and PREGON_APP_SECRET"
        ctl account-add --name WhatsApp --waba-id "$waba" --phone-number-id "$phone_id" \
            --display-phone "$display" --verify-token "${verify:-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
    else
        echo "setup: no account yet: add one in the panel (Accounts) or run again with --account"
    fi
fi

# The web folder: the panel, the .htaccess and the wrapper, which knows this install.
mkdir -p "$web"
(umask 022 && cp -r "$home/www/." "$web/")
install -m 644 "$home/deploy/apache/htaccess" "$web/.htaccess"
sed "s|^PREGON_HOME=\$|PREGON_HOME='$home'|" "$home/deploy/apache/pregon.fcgi" >"$web/pregon.fcgi"
chmod 755 "$web/pregon.fcgi"
chmod 755 "$home" "$home/bin" "$home/lib" 2>/dev/null || true

echo
echo "setup: done. The panel: $public_url/ (sign in as $admin_email)."
echo "setup: Meta's webhook: $public_url/webhook"
echo "setup: add this line with crontab -e (the worker sends for 55 s every minute):"
echo "* * * * * PREGON_HOME=$home $home/bin/pregon-worker -c $home/pregon.conf --drain 55 >>$home/var/log/worker.log 2>&1"
