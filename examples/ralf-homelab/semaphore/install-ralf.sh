#!/bin/sh
# Installs a RALF release (the static linux_amd64 binaries, which run on Semaphore's Alpine
# image) without any registry:
#   DEST/bin/ralf                     the runner
#   DEST/mirror/<host>/ralf-homelab/ralf/terraform-provider-ralf_<v>_linux_amd64.zip
#                                     the provider as a packed filesystem mirror, for
#                                     registry.terraform.io and registry.opentofu.org
#   DEST/terraformrc                  the CLI configuration using that mirror (TF_CLI_CONFIG_FILE)
# Every archive is checked against the release's SHA256SUMS before it is used.
#
# Usage: install-ralf.sh VERSION DEST   with RALF_RELEASE_URL = a directory or an http(s) URL
# holding the release files (e.g. your Gitea release's download URL). Used by the runner
# image's Dockerfile (docs/guides/semaphore.md) and, as a fallback, by lib.sh.
set -eu

die() {
    printf 'install-ralf: error: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 2 ] || die "usage: install-ralf.sh VERSION DEST (with RALF_RELEASE_URL set)"
version=$1
dest=$2
source=${RALF_RELEASE_URL:?set RALF_RELEASE_URL to the directory or URL holding the release files}
case $version in
    '' | *[!0-9A-Za-z.+-]*) die "version '$version' is not a release version (e.g. 0.4.0)" ;;
esac

provider_zip=terraform-provider-ralf_${version}_linux_amd64.zip
ralf_zip=ralf_${version}_linux_amd64.zip
sums=terraform-provider-ralf_${version}_SHA256SUMS

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fetch() {
    case $source in
        https://* | http://*)
            curl -fsSL --retry 3 -o "$work/$1" "${source%/}/$1"
            ;;
        *)
            [ -f "$source/$1" ] || return 1
            cp "$source/$1" "$work/$1"
            ;;
    esac
}

fetch "$sums" || die "cannot fetch $sums from $source"
# The runner's archive may have checksums of its own.
fetch "ralf_${version}_SHA256SUMS" 2>/dev/null || true
for zip in "$provider_zip" "$ralf_zip"; do
    fetch "$zip" || die "cannot fetch $zip from $source"
    line=$(cat "$work"/*_SHA256SUMS | grep "[ *]$zip\$" | head -n 1) || true
    [ -n "$line" ] || die "no checksum for $zip in the release's SHA256SUMS"
    printf '%s\n' "$line" >"$work/check"
    (cd "$work" && sha256sum -c check >/dev/null) || die "$zip does not match its SHA256SUMS line: the download is damaged or not the release"
done

mkdir -p "$dest/bin"
unzip -o -q "$work/$ralf_zip" -d "$work/ralf"
[ -f "$work/ralf/ralf" ] || die "$ralf_zip holds no 'ralf' binary"
cp "$work/ralf/ralf" "$dest/bin/ralf"
chmod 0755 "$dest/bin/ralf"

for host in registry.terraform.io registry.opentofu.org; do
    mkdir -p "$dest/mirror/$host/ralf-homelab/ralf"
    cp "$work/$provider_zip" "$dest/mirror/$host/ralf-homelab/ralf/$provider_zip"
done

cat >"$dest/terraformrc" <<EOF
# Written by install-ralf.sh: the RALF provider from a local mirror, everything else as usual.
provider_installation {
  filesystem_mirror {
    path    = "$dest/mirror"
    include = ["registry.terraform.io/ralf-homelab/ralf", "registry.opentofu.org/ralf-homelab/ralf"]
  }
  direct {
    exclude = ["registry.terraform.io/ralf-homelab/ralf", "registry.opentofu.org/ralf-homelab/ralf"]
  }
}
EOF

printf 'install-ralf: ralf %s in %s/bin; provider mirror and CLI configuration in %s (export TF_CLI_CONFIG_FILE=%s/terraformrc)\n' \
    "$version" "$dest" "$dest" "$dest"
