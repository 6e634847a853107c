#!/usr/bin/env bash
# Builds the Splunk app package into dist/ from a clean checkout:
#   ucc-gen build (libraries installed with Python 3.9, Splunk 9.x's) →
#   idgate itself and its data copied into lib/ → pydantic-core's cp313
#   extension added beside the cp39 one (Splunk 10.2+) → no .pyc, no
#   executable bits outside bin/ → ucc-gen package.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
APP_SRC="$ROOT/connectors/splunk"
WORK="${IDGATE_SPLUNK_BUILD:-$ROOT/build/splunk}"
DIST="${IDGATE_SPLUNK_DIST:-$ROOT/dist}"
UCC_VERSION="${UCC_VERSION:-6.6.0}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

source "$ROOT/.ci/lib.sh"
PY39=$(find_python 3.9) || { echo "build: python3.9 not found (needed to vendor Splunk 9.x libraries)" >&2; exit 2; }
HOSTPY=$(command -v python3)

mkdir -p "$WORK" "$DIST"
if [ ! -x "$WORK/venv-ucc/bin/ucc-gen" ]; then
  "$HOSTPY" -m venv "$WORK/venv-ucc"
  "$WORK/venv-ucc/bin/pip" install -q "splunk-add-on-ucc-framework==$UCC_VERSION"
fi
if [ ! -x "$WORK/venv-py39/bin/python" ]; then
  "$PY39" -m venv "$WORK/venv-py39"
fi

VERSION=$("$HOSTPY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["meta"]["version"])' "$APP_SRC/globalConfig.json")
rm -rf "$WORK/output"
"$WORK/venv-ucc/bin/ucc-gen" build --source "$APP_SRC/package" --config "$APP_SRC/globalConfig.json" \
  --ta-version "$VERSION" -o "$WORK/output" --python-binary-name "$WORK/venv-py39/bin/python" \
  --pip-version 25.2
APP="$WORK/output/idgate"
LIB="$APP/lib"

# UCC writes restmap.conf and web.conf for its configuration handlers: ours are
# appended, not shipped in package/ (a file there would replace UCC's)
for conf in restmap web; do
  printf '\n' >> "$APP/default/$conf.conf"
  cat "$APP_SRC/conf-extra/$conf.conf" >> "$APP/default/$conf.conf"
done

# UCC's generated Python stanzas (config handlers, the modular input) name
# python.version only: Splunk 10.2+ also needs to know they run on 3.9 and 3.13
"$HOSTPY" - "$APP/default/restmap.conf" "$APP/default/inputs.conf" <<'PY'
import re, sys
for path in sys.argv[1:]:
    text = open(path).read()
    def fix(m):
        body = m.group(0)
        if "python.version" in body and "python.required" not in body:
            body = re.sub(r"(python\.version\s*=.*)", r"\1\npython.required = 3.9,3.13", body, count=1)
        return body
    open(path, "w").write(re.sub(r"^\[[^\]]+\][^\[]*", fix, text, flags=re.M))
PY

# idgate itself, with the data it finds next to itself when no checkout is around
rm -rf "$LIB/idgate"
cp -R "$ROOT/src/idgate" "$LIB/idgate"
mkdir -p "$LIB/idgate/data/connectors" "$LIB/idgate/data/playbooks"
for m in "$ROOT"/connectors/*/mapping.yaml; do
  p=$(basename "$(dirname "$m")"); mkdir -p "$LIB/idgate/data/connectors/$p"; cp "$m" "$LIB/idgate/data/connectors/$p/"
done
if [ -d "$ROOT/playbooks" ]; then cp "$ROOT"/playbooks/*.yaml "$LIB/idgate/data/playbooks/" 2>/dev/null || true; fi

# compiled packages (pydantic-core, grpcio, PyYAML, ...): UCC installed their
# cp39 builds; add the cp313 extension modules of the same versions beside
# them (Python picks the file whose ABI tag it matches)
rm -rf "$WORK/cp313"
"$HOSTPY" - "$LIB" > "$WORK/compiled.txt" <<'PY'
import csv, glob, os, sys
lib = sys.argv[1]
for record in glob.glob(os.path.join(lib, "*.dist-info", "RECORD")):
    if any(row and row[0].endswith(".so") for row in csv.reader(open(record))):
        meta = open(os.path.join(os.path.dirname(record), "METADATA")).read().splitlines()
        name = next(l.split(":", 1)[1].strip() for l in meta if l.startswith("Name:"))
        version = next(l.split(":", 1)[1].strip() for l in meta if l.startswith("Version:"))
        print("%s==%s" % (name, version))
PY
grep -q '^pydantic[-_]core==' "$WORK/compiled.txt" || { echo "build: pydantic_core missing from lib/" >&2; exit 1; }
"$WORK/venv-py39/bin/python" -m pip install -q --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
  --python-version 3.13 --implementation cp --target "$WORK/cp313" -r "$WORK/compiled.txt"
(cd "$WORK/cp313" && find . -name '*.so' -print) | while read -r so; do
  mkdir -p "$LIB/$(dirname "$so")"; cp "$WORK/cp313/$so" "$LIB/$so"
done

find "$APP" -name __pycache__ -type d -prune -exec rm -rf {} +
find "$APP" \( -name '*.pyc' -o -name '*.pyo' \) -delete
find "$APP" -type f ! -path "$APP/bin/*" -exec chmod a-x {} +
find "$APP" -type d -exec chmod 755 {} +
find "$APP/bin" -type f -exec chmod 644 {} +

rm -f "$DIST"/idgate-*.tar.gz
"$WORK/venv-ucc/bin/ucc-gen" package --path "$APP" -o "$DIST"
ls "$DIST"/idgate-*.tar.gz
