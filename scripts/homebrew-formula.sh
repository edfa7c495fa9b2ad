#!/usr/bin/env bash
# Makes the source tarball of a commit with `git archive` and the Homebrew formula that builds
# it: homebrew/bifrost.rb with its url, sha256, commit and homepage filled in.
#
#   scripts/homebrew-formula.sh [--ref REF] [--url-base URL] [--homepage URL] [--out DIR]
#
#   --ref       what to package (default HEAD)
#   --url-base  where the tarball will be downloaded from, e.g. a release's download URL; the
#               formula's url is URL-BASE/bifrost-VERSION.tar.gz (default: file://DIR, so that
#               `brew install --formula DIR/bifrost.rb` works on this machine)
#   --homepage  the formula's homepage (default: the url base)
#   --out       where bifrost-VERSION.tar.gz and bifrost.rb are written (default target/homebrew)
#
# The version is Cargo.toml's at REF. Prints the paths of the tarball and the formula.
set -euo pipefail
cd "$(dirname "$0")/.."

ref=HEAD
url_base=""
homepage=""
out=target/homebrew
usage() { sed -n '5,14s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref="$2"; shift 2 ;;
    --url-base) url_base="${2%/}"; shift 2 ;;
    --homepage) homepage="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "homebrew-formula: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

version=$(git show "$ref:Cargo.toml" | sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' | head -n1)
[ -n "$version" ] || { echo "homebrew-formula: no version in Cargo.toml at $ref" >&2; exit 1; }
commit=$(git rev-parse --short=12 "$ref^{commit}")

mkdir -p "$out"
out=$(cd "$out" && pwd)
tarball="$out/bifrost-$version.tar.gz"
git archive --format=tar.gz --prefix="bifrost-$version/" -o "$tarball" "$ref"
if command -v sha256sum >/dev/null; then
  sha256=$(sha256sum "$tarball" | cut -d' ' -f1)
else
  sha256=$(shasum -a 256 "$tarball" | cut -d' ' -f1)
fi

url_base="${url_base:-file://$out}"
homepage="${homepage:-$url_base}"
formula="$out/bifrost.rb"
# `|` cannot occur in a URL unescaped, so it is a safe sed separator here.
{
  echo "# Made by scripts/homebrew-formula.sh from homebrew/bifrost.rb at commit $commit."
  sed -n '/^class /,$p' homebrew/bifrost.rb
} | sed -e "s|@URL@|$url_base/bifrost-$version.tar.gz|" \
  -e "s|@SHA256@|$sha256|" \
  -e "s|@COMMIT@|$commit|g" \
  -e "s|@HOMEPAGE@|$homepage|" >"$formula"
if grep -n '@[A-Z0-9]*@' "$formula" >&2; then
  echo "homebrew-formula: placeholders left in $formula" >&2
  exit 1
fi
if command -v ruby >/dev/null; then
  ruby -c "$formula" >/dev/null
fi

echo "$tarball"
echo "$formula"
