#!/bin/sh
# Installs a RALF release (the static linux_amd64 binaries, which run on Semaphore's Alpine
# image as they are; docs/guides/installing.md) without any registry:
#   DEST/bin/ralf       the runner, from ralf_<v>_linux_amd64.zip
#   DEST/mirror/        the provider as a packed filesystem mirror for registry.terraform.io
#                       and registry.opentofu.org, written by `ralf provider install`
#   DEST/terraformrc    the CLI configuration `ralf provider install` prints for that mirror
#                       (point TF_CLI_CONFIG_FILE at it)
# Both archives are checked against the release's SHA256SUMS before they are used: the runner's
# here (before it runs), the provider's again by `ralf provider install`.
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

mkdir -p "$dest" || die "cannot create $dest"
dest=$(cd "$dest" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/download" "$work/release" "$work/ralf"

fetch() {
    case $source in
        https://* | http://*)
            curl -fsSL --retry 3 -o "$work/download/$1" "${source%/}/$1"
            ;;
        *)
            [ -f "$source/$1" ] || return 1
            cp "$source/$1" "$work/download/$1"
            ;;
    esac
}

# The SHA256SUMS line of a file, or nothing.
sum_line() {
    grep "  $1\$" "$work/download/$sums" | head -n 1 || true
}

for file in "$sums" "$ralf_zip" "$provider_zip"; do
    fetch "$file" || die "cannot fetch $file from $source"
done

line=$(sum_line "$ralf_zip")
[ -n "$line" ] || die "no checksum for $ralf_zip in $sums"
printf '%s\n' "$line" >"$work/download/check"
(cd "$work/download" && sha256sum -c check >/dev/null) || die "$ralf_zip does not match its SHA256SUMS line: the download is damaged or not the release"
unzip -o -q "$work/download/$ralf_zip" -d "$work/ralf"
[ -f "$work/ralf/ralf" ] || die "$ralf_zip holds no 'ralf' binary"

# `ralf provider install` reads every provider archive its SHA256SUMS lists: give it the
# linux_amd64 one only.
line=$(sum_line "$provider_zip")
[ -n "$line" ] || die "no checksum for $provider_zip in $sums"
printf '%s\n' "$line" >"$work/release/$sums"
mv "$work/download/$provider_zip" "$work/release/"
"$work/ralf/ralf" provider install --from "$work/release" --release "$version" \
    --mirror "$dest/mirror" --layout packed >"$work/installed" ||
    die "ralf provider install refused the provider archive (see above)"

mkdir -p "$dest/bin"
cp "$work/ralf/ralf" "$dest/bin/ralf"
chmod 0755 "$dest/bin/ralf"
# The CLI configuration is the end of what `ralf provider install` printed.
{
    printf '# Written by install-ralf.sh from what "ralf provider install" printed: the RALF provider from a local mirror.\n'
    sed -n '/^provider_installation {/,$p' "$work/installed"
} >"$dest/terraformrc"
grep -q filesystem_mirror "$dest/terraformrc" || die "ralf provider install printed no CLI configuration"

printf 'install-ralf: ralf %s in %s/bin; provider mirror and CLI configuration in %s (export TF_CLI_CONFIG_FILE=%s/terraformrc)\n' \
    "$version" "$dest" "$dest" "$dest"
