# Sourced by scripts/demo and scripts/test. `ensure_venv ARGS...` installs ARGS (arguments of pip install) into
# .venv, unless .venv already holds exactly that installation: a stamp in .venv records a hash of the arguments,
# the Python version and every pyproject.toml, so a second run starts at once, while a changed dependency or
# Python version installs again. Editable installs (-e) follow source changes without reinstalling.
# Delete .venv to force a fresh install (.ci/run always does).
ensure_venv() {
  local stamp=.venv/.tc-calendar-installed
  local wanted
  wanted="$({ printf '%s\n' "$@"; python3 --version; cat pyproject.toml sims/*/pyproject.toml; } | sha256sum | cut -d' ' -f1)"
  if [ -x .venv/bin/python ] && [ -f "$stamp" ] && grep -qxF "$wanted" "$stamp"; then
    return 0
  fi
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet "$@"
  echo "$wanted" >> "$stamp"
}
