#!/usr/bin/env bash
# Applies sql/NNN_name.sql in order, once each, recording them in schema_migrations, then
# grants the application user what it may do: SELECT, INSERT, UPDATE, DELETE on every table,
# but only SELECT and INSERT on tables whose comment starts with 'append-only'.
#
# usage: migrate.sh ADMIN_DEFAULTS_FILE DATABASE APP_USER [APP_HOST...]
# The defaults file holds the [client] settings of an account allowed to change the schema.
#
# Shared hosting (one database user, no GRANT, binary logging on):
# - APP_USER the same as the defaults file's user, or a user that may not grant: the grant
#   step is skipped with a message (the one user has its host's rights on the database).
# - Triggers need SUPER when binary logging is on. When the account cannot create them, the
#   migrations are applied without their CREATE TRIGGER statements, the append-only rule is
#   kept by the application alone, and schema_settings says so (GET /api/health shows it).
# - Every migration can run again after failing half-way (IF NOT EXISTS throughout).
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 ADMIN_DEFAULTS_FILE DATABASE APP_USER [APP_HOST...]" >&2; exit 2; }
defaults=$1 db=$2 app_user=$3
shift 3
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=(localhost 127.0.0.1)
here=$(cd "$(dirname "$0")/.." && pwd)

case "$db$app_user" in
    *[!A-Za-z0-9_]*) echo "migrate: database and user names must be [A-Za-z0-9_]" >&2; exit 2 ;;
esac
for h in "${hosts[@]}"; do
    case "$h" in *[!A-Za-z0-9_.%:-]*) echo "migrate: bad host '$h'" >&2; exit 2 ;; esac
done

sql() { mariadb --defaults-file="$defaults" --batch --skip-column-names "$@"; }

sql -e "CREATE DATABASE IF NOT EXISTS \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
sql "$db" -e "CREATE TABLE IF NOT EXISTS schema_migrations (
    version INT UNSIGNED NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB"

sql "$db" -e "CREATE TABLE IF NOT EXISTS schema_settings (
    name VARCHAR(64) NOT NULL PRIMARY KEY,
    value VARCHAR(255) NOT NULL) ENGINE=InnoDB"

# Can this account create triggers? (SUPER is needed under binary logging, TRIGGER always.)
triggers=1
sql "$db" -e "CREATE TABLE IF NOT EXISTS schema_trigger_probe (id INT) ENGINE=InnoDB"
if ! probe_err=$(sql "$db" -e "DROP TRIGGER IF EXISTS schema_trigger_probe_t;
        CREATE TRIGGER schema_trigger_probe_t BEFORE INSERT ON schema_trigger_probe
        FOR EACH ROW SET NEW.id = NEW.id; DROP TRIGGER schema_trigger_probe_t" 2>&1); then
    triggers=0
    echo "migrate: this account cannot create triggers (${probe_err#*: }); applying the" \
         "migrations without them: the application alone keeps the append-only tables" >&2
fi
sql "$db" -e "DROP TABLE IF EXISTS schema_trigger_probe"
previous=$(sql "$db" -e "SELECT value FROM schema_settings WHERE name = 'append_only_guard'")
guard=triggers
if [ $triggers = 0 ] || [ "$previous" = application ]; then guard=application; fi
sql "$db" -e "INSERT INTO schema_settings (name, value) VALUES ('append_only_guard', '$guard')
              ON DUPLICATE KEY UPDATE value = VALUES(value)"

# The statements of a migration, without CREATE/DROP TRIGGER when triggers are out of reach.
statements() {
    if [ $triggers = 1 ]; then
        cat "$1"
    else
        awk '/^(CREATE|DROP) TRIGGER/ {skip = 1} !skip {print} skip && /;[[:space:]]*$/ {skip = 0}' "$1"
    fi
}

applied=$(sql "$db" -e "SELECT version FROM schema_migrations")
for f in "$here"/sql/[0-9][0-9][0-9]_*.sql; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .sql)
    version=$((10#${base%%_*}))
    if grep -qx "$version" <<<"$applied"; then
        continue
    fi
    echo "migrate: applying $base"
    if ! statements "$f" | sql "$db"; then
        echo "migrate: $base failed; fix the cause and run again (every migration can be" \
             "applied again over a half-way state)" >&2
        exit 1
    fi
    sql "$db" -e "INSERT INTO schema_migrations (version, name) VALUES ($version, '$base')"
done

# One database user (shared hosting): it owns what it created; nothing to grant.
me=$(sql -e "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1)")
if [ "$me" = "$app_user" ]; then
    echo "migrate: done; $app_user is the schema's own user: no grants needed"
    exit 0
fi

# Grants follow the table comments, so a new append-only table is protected by its migration;
# views (their comment is VIEW) are read-only sums of tables the user may read.
grants=""
while IFS=$'\t' read -r table comment; do
    [ -n "$table" ] || continue
    for h in "${hosts[@]}"; do
        who="'$app_user'@'$h'"
        if [ "$table" = schema_migrations ] || [ "$table" = schema_settings ] ||
           [ "$comment" = VIEW ]; then
            grants+="GRANT SELECT ON \`$db\`.\`$table\` TO $who;"
        elif [[ "$comment" == append-only* ]]; then
            grants+="GRANT SELECT, INSERT ON \`$db\`.\`$table\` TO $who;"
            # A table that became append-only loses what it had been granted before.
            for priv in UPDATE DELETE; do
                has=$(sql -e "SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES
                    WHERE GRANTEE = \"$who\" AND TABLE_SCHEMA = '$db'
                    AND TABLE_NAME = '$table' AND PRIVILEGE_TYPE = '$priv'")
                [ "$has" = 0 ] || grants+="REVOKE $priv ON \`$db\`.\`$table\` FROM $who;"
            done
        else
            grants+="GRANT SELECT, INSERT, UPDATE, DELETE ON \`$db\`.\`$table\` TO $who;"
        fi
    done
done < <(sql -e "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES
                 WHERE TABLE_SCHEMA = '$db' AND TABLE_TYPE IN ('BASE TABLE', 'VIEW')")
if [ -n "$grants" ] && ! grant_err=$(sql -e "$grants" 2>&1); then
    echo "migrate: schema done, but this account may not grant to $app_user (${grant_err#*: });" \
         "use one database user for both (db_user = the schema's user), or have the" \
         "database's administrator grant as docs/operations.md says" >&2
    exit 0
fi
