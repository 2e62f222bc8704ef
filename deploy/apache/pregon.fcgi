#!/bin/sh
# mod_fcgid starts this wrapper; it hands the listening socket (fd 0) to pregon-fcgi, which
# then answers on it. mod_fcgid manages the number of processes, so keep fcgi_procs = 1.
# Edit the two paths for your account.
PREGON_CONFIG="$HOME/pregon/pregon.conf"
PREGON_FCGI_PROCS=1
export PREGON_CONFIG PREGON_FCGI_PROCS
exec "$HOME/pregon/bin/pregon-fcgi"
