#!/usr/bin/env bash
# The Splunk SOAR app's own checks, in its own environment: the SOAR SDK
# needs Python 3.13 and its own pins, and the app talks to idgate over HTTP
# only, so it never shares idgate's venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

source "$root/.ci/lib.sh"
py=$(find_python 3.13) || { echo "!! python3.13 not found: Splunk SOAR app tests not run" >&2; exit 0; }

venv="$root/.venv-soar"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/pip" install -q "splunk-soar-sdk>=7.0,<8" responses pytest
cd "$here"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests
