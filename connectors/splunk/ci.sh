#!/usr/bin/env bash
# CI for the Splunk app, self-contained: build the package (make splunk-app),
# AppInspect it (cloud, precert: 0 failures, 0 future failures, 0 errors), and
# run the app's tests on Python 3.9 and 3.13 against the built package.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
WORK="${IDGATE_SPLUNK_BUILD:-$ROOT/build/splunk}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off
APPINSPECT_VERSION="${APPINSPECT_VERSION:-4.3.1}"

echo "== splunk app: build"
bash connectors/splunk/build.sh
PKG=$(ls "$ROOT"/dist/idgate-*.tar.gz | head -1)

echo "== splunk app: appinspect ($PKG)"
if [ ! -x "$WORK/venv-appinspect/bin/splunk-appinspect" ]; then
  python3 -m venv "$WORK/venv-appinspect"
  "$WORK/venv-appinspect/bin/pip" install -q "splunk-appinspect==$APPINSPECT_VERSION"
fi
"$WORK/venv-appinspect/bin/splunk-appinspect" inspect "$PKG" --mode precert --included-tags cloud \
  --skip-trusted-libraries-update --output-file "$WORK/appinspect.json" --data-format json > "$WORK/appinspect.log" 2>&1 || true
python3 - "$WORK/appinspect.json" <<'PY'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError) as exc:
    sys.exit("appinspect: no report (%s); see appinspect.log" % exc)
summary = report.get("summary") or {}
print("appinspect summary: " + ", ".join("%s=%s" % (k, summary.get(k, 0)) for k in
      ("error", "failure", "future_failure", "warning", "success", "not_applicable")))
bad = []
for r in report.get("reports", []):
    for g in r.get("groups", []):
        for c in g.get("checks", []):
            if c.get("result") in ("error", "failure", "future_failure"):
                msg = (c.get("messages") or [{}])[0].get("message", "")
                bad.append("%s %s: %s" % (c["result"], c["name"], msg[:300]))
for line in bad:
    print("  " + line)
sys.exit(1 if bad or any(summary.get(k) for k in ("error", "failure", "future_failure")) else 0)
PY

source "$ROOT/.ci/lib.sh"
status=0
for v in 3.9 3.13; do
  py=$(find_python "$v") || { echo "!! python$v not found: the Splunk app tests need it" >&2; exit 1; }
  echo "== splunk app: tests on python $v ($py)"
  venv="$WORK/venv-test-$v"
  [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
  "$venv/bin/pip" install -q -e . "pytest>=7.4" "responses>=0.25"
  IDGATE_SPLUNK_PACKAGE="$PKG" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/splunk_app || status=1
done
exit $status
