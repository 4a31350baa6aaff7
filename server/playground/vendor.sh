#!/usr/bin/env bash
# vendor.sh refreshes the browser assets of the playground in assets/ from the
# npm registry: GraphiQL's browser (UMD) bundle and the React 18 UMD builds it
# expects as the globals React and ReactDOM, plus each package's licence.
#
# Usage: server/playground/vendor.sh   (needs npm, tar, sed, sha256sum)
#
# GraphiQL 5 has no browser bundle usable without a build step, so stay on 4.x.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-4.1.2}"
REACT_VERSION="${REACT_VERSION:-18.2.0}"

here="$(cd "$(dirname "$0")" && pwd)"
assets="$here/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "graphiql@${GRAPHIQL_VERSION}" "react@${REACT_VERSION}" "react-dom@${REACT_VERSION}" >/dev/null
unpack() { mkdir -p "$1" && tar -xzf "$1-$2.tgz" -C "$1" --strip-components=1; }
unpack graphiql "$GRAPHIQL_VERSION"
unpack react "$REACT_VERSION"
unpack react-dom "$REACT_VERSION"

mkdir -p "$assets/licenses"
cp react/umd/react.production.min.js "$assets/react.production.min.js"
cp react-dom/umd/react-dom.production.min.js "$assets/react-dom.production.min.js"
# The bundle's trailing sourceMappingURL comment names a map we do not ship
# (4.7 MB); drop it so that nothing the page loads refers to a missing file.
sed '/^\/\/# sourceMappingURL=/d' graphiql/graphiql.min.js >"$assets/graphiql.min.js"
sed '/^\/\*# sourceMappingURL=.*\*\/$/d' graphiql/graphiql.min.css >"$assets/graphiql.min.css"

cp graphiql/LICENSE "$assets/licenses/graphiql-LICENSE"
cp react/LICENSE "$assets/licenses/react-LICENSE"
cp react-dom/LICENSE "$assets/licenses/react-dom-LICENSE"

cd "$assets"
sha256sum graphiql.min.css graphiql.min.js react-dom.production.min.js react.production.min.js >SHA256SUMS
echo "vendored graphiql@${GRAPHIQL_VERSION}, react@${REACT_VERSION}, react-dom@${REACT_VERSION} into $assets"
echo "update the versions in assets/README.md and run: go test ./server/playground/"
