# Shell helpers shared by .ci/run and connectors/*/ci.sh and build scripts.

# find_python 3.9 → the path of an interpreter of that version (exit 1 if none).
# pyenv keeps 3.9 and 3.13 beside the default one; their shims answer "not
# found" unless selected, so look in pyenv's versions folder too.
find_python() {
  local v=$1 c
  for c in "$(command -v "python$v" 2>/dev/null || true)" \
           "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/"$v".*/bin/"python$v"; do
    if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys' 2>/dev/null; then echo "$c"; return 0; fi
  done
  return 1
}
