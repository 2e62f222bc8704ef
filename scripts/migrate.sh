#!/usr/bin/env bash
# Applies sql/NNN_name.sql in order, once each, recording them in schema_migrations, then
# grants the application user what it may do: SELECT, INSERT, UPDATE, DELETE on every table,
# but only SELECT and INSERT on tables whose comment starts with 'append-only'.
#
# usage: migrate.sh ADMIN_DEFAULTS_FILE DATABASE APP_USER [APP_HOST...]
# The defaults file holds the [client] settings of an account allowed to change the schema.
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

applied=$(sql "$db" -e "SELECT version FROM schema_migrations")
for f in "$here"/sql/[0-9][0-9][0-9]_*.sql; do
    [ -e "$f" ] || continue
    base=$(basename "$f" .sql)
    version=$((10#${base%%_*}))
    if grep -qx "$version" <<<"$applied"; then
        continue
    fi
    echo "migrate: applying $base"
    if ! sql "$db" <"$f"; then
        echo "migrate: $base failed; the database is left as the failing statement left it" >&2
        exit 1
    fi
    sql "$db" -e "INSERT INTO schema_migrations (version, name) VALUES ($version, '$base')"
done

# Grants follow the table comments, so a new append-only table is protected by its migration.
grants=""
while IFS=$'\t' read -r table comment; do
    [ -n "$table" ] || continue
    for h in "${hosts[@]}"; do
        who="'$app_user'@'$h'"
        if [ "$table" = schema_migrations ]; then
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
                 WHERE TABLE_SCHEMA = '$db' AND TABLE_TYPE = 'BASE TABLE'")
[ -z "$grants" ] || sql -e "$grants"
