#!/usr/bin/env bash
# Builds the shared-hosting bundle: the binaries with the shared libraries they need beside
# them (lib/), found through an $ORIGIN run path, so they run on a host that lacks libfcgi,
# libcsv, json-c, libsodium, libmariadb or libcurl. Only the C library itself (glibc: libc,
# libm, libresolv, the loader) is taken from the host, which must be as new as the builder's.
#
# usage: bundle.sh BUILD_DIR OUT_DIR   (make bundle: build/pregon-bundle + .tar.gz)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$1 out=$2
here=$(cd "$(dirname "$0")/.." && pwd)
command -v patchelf >/dev/null || { echo "bundle: patchelf is missing (make deps)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/scripts" "$out/deploy/apache" "$out/config" "$out/docs"
bins=(pregon-fcgi pregon-worker pregonctl)
for b in "${bins[@]}"; do
    install -m 755 "$build/bin/$b" "$out/bin/$b"
done

# Every library the binaries load (transitively: ldd lists them all), but glibc's own.
host_lib() {
    case "$1" in
    linux-vdso.so.* | ld-linux*.so.* | libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | \
        librt.so.* | libresolv.so.* | libutil.so.*) return 0 ;;
    esac
    return 1
}
for b in "${bins[@]}"; do
    ldd "$build/bin/$b" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
    host_lib "$name" && continue
    install -m 644 "$path" "$out/lib/$name"
done
for b in "${bins[@]}"; do
    patchelf --set-rpath '$ORIGIN/../lib' "$out/bin/$b"
done
# The libraries find each other in the same folder.
for l in "$out"/lib/*.so*; do
    patchelf --set-rpath '$ORIGIN' "$l"
done

cp -r "$here/www" "$out/www"
sed -i "s/?v=dev/?v=$(git -C "$here" describe --always --dirty 2>/dev/null || echo bundle)/g" \
    "$out/www/index.html"
mkdir -p "$out/sql"
install -m 644 "$here"/sql/*.sql "$out/sql/"
install -m 755 "$here/scripts/migrate.sh" "$here/scripts/setup-shared.sh" "$out/scripts/"
install -m 644 "$here/deploy/apache/htaccess" "$out/deploy/apache/htaccess"
install -m 755 "$here/deploy/apache/pregon.fcgi" "$out/deploy/apache/pregon.fcgi"
install -m 644 "$here/config/pregon.conf.example" "$out/config/"
install -m 644 "$here/docs/operations.md" "$out/docs/"
install -m 644 "$here/README.md" "$out/"
echo "bundle: $out ($(du -sh "$out" | cut -f1)); libraries: $(ls "$out/lib" | wc -l)"
