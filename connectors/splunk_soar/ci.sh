#!/usr/bin/env bash
# The Splunk SOAR app's own checks, in its own environment: the SOAR SDK
# needs Python 3.13 and its own pins, and the app talks to idgate over HTTP
# only, so it never shares idgate's venv.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

py=""
for candidate in "$(command -v python3.13 2>/dev/null || true)" \
                 "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/3.13.*/bin/python3.13; do
  if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys' 2>/dev/null; then
    py=$candidate; break
  fi
done
if [ -z "$py" ]; then
  echo "!! python3.13 not found: Splunk SOAR app tests not run" >&2
  exit 0
fi

venv="$root/.venv-soar"
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
"$venv/bin/pip" install -q "splunk-soar-sdk>=7.0,<8" responses pytest
cd "$here"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests
