#!/bin/sh
# mod_fcgid starts this wrapper; it hands the listening socket (fd 0) to pregon-fcgi, which
# then answers on it. mod_fcgid manages the number of processes, so fcgi_procs = 1.
#
# No $HOME here: mod_fcgid does not set it. The install is found from where this file is:
# PREGON_HOME below when scripts/setup-shared.sh wrote it (the web folder is elsewhere), else
# the nearest folder above this file that holds bin/pregon-fcgi (the web folder is the
# install's www/).
PATH=${PATH:-/usr/local/bin:/usr/bin:/bin}
export PATH
PREGON_HOME=
if [ -z "$PREGON_HOME" ]; then
    dir=$(cd "$(dirname "$0")" && pwd -P)
    while [ -n "$dir" ] && [ ! -x "$dir/bin/pregon-fcgi" ]; do
        [ "$dir" = / ] && dir= && break
        dir=$(dirname "$dir")
    done
    if [ -z "$dir" ]; then
        echo "pregon.fcgi: no bin/pregon-fcgi above $(dirname "$0"); set PREGON_HOME in this file" >&2
        exit 1
    fi
    PREGON_HOME=$dir
fi
PREGON_CONFIG=${PREGON_CONFIG:-$PREGON_HOME/pregon.conf}
PREGON_FCGI_PROCS=1
export PREGON_HOME PREGON_CONFIG PREGON_FCGI_PROCS
exec "$PREGON_HOME/bin/pregon-fcgi"
