# shellcheck shell=bash
# Helpers for scripts/test: find an interpreter, keep a venv in step with the pins, run the suite.

# find_python 3.13 — print the path of a python of that minor version, or fail.
find_python() {
    local want="$1" candidate
    for candidate in "python$want" "$HOME/.pyenv/versions/$want"*/bin/python"$want"; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && PYENV_VERSION="$(_pyenv_version "$want")" "$candidate" -c 'import sys' 2>/dev/null; then
            PYENV_VERSION="$(_pyenv_version "$want")" "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    echo "no python$want found (install it, or see shared/BRIEF.md)" >&2
    return 1
}

_pyenv_version() {
    # pyenv shims need to be told which installed version to use.
    local want="$1"
    if command -v pyenv >/dev/null 2>&1; then
        pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.|$)" | sort -V | tail -n 1
    fi
}

# ensure_venv PYTHON VENV REPO FLAVOR — create or refresh VENV from requirements/.
ensure_venv() {
    local python="$1" venv="$2" repo="$3" flavor="$4" stamp want
    want=$(cat "$repo/requirements/test-$flavor.txt" "$repo/requirements/test.txt" \
        "$repo/requirements/lint.txt" "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1)
    stamp="$venv/.keyholder-requirements"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "--- preparing $venv (this takes a few minutes the first time)"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
    # pip's own exit status is what counts; the filter only drops noise about host-only wheel folders.
    local log
    log=$(mktemp)
    if ! "$venv/bin/python" -m pip install --quiet \
        -r "$repo/requirements/test-$flavor.txt" \
        -r "$repo/requirements/test.txt" \
        -r "$repo/requirements/lint.txt" \
        -e "$repo" >"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
}

# ensure_tool_venv PYTHON VENV REQUIREMENTS — a venv of its own for one tool, kept in step.
ensure_tool_venv() {
    local python="$1" venv="$2" requirements="$3" stamp want log
    want=$(sha256sum "$requirements" | cut -d' ' -f1)
    stamp="$venv/.keyholder-requirements"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "--- preparing $venv"
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    log=$(mktemp)
    if ! "$venv/bin/python" -m pip install --quiet -r "$requirements" >"$log" 2>&1; then
        grep -v '^WARNING: Location' "$log" >&2
        rm -f "$log"
        return 1
    fi
    rm -f "$log"
    echo "$want" >"$stamp"
}

# ensure_chromium — Debian's chromium for the guest-page browser test, where we may install it.
ensure_chromium() {
    command -v chromium >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "--- no chromium and no way to install it here: the browser test will be skipped" >&2
        return 0
    fi
    echo "--- installing chromium (for the guest-page browser test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

# run_suite BIN REPO FLAVOR [PYTEST_ARGS...] — ruff, mypy --strict, pytest with coverage.
run_suite() {
    local bin="$1" repo="$2" flavor="$3"
    shift 3
    cd "$repo"
    echo "--- $("$bin/python" -c 'import sys, homeassistant.const as c; print(f"Home Assistant {c.__version__} on Python {sys.version.split()[0]}")')"
    echo "--- ruff"
    "$bin/ruff" format --check --quiet .
    "$bin/ruff" check --quiet .
    echo "--- mypy --strict"
    local probatio=--always-false
    "$bin/python" -c 'import probatio' 2>/dev/null && probatio=--always-true
    "$bin/mypy" --cache-dir ".mypy_cache/$flavor" "$probatio" HAS_PROBATIO \
        custom_components bridge scripts bench simulators demo
    echo "--- pytest"
    # Data left by an earlier or partial run would be combined into this one.
    rm -f ".coverage.$flavor" ".coverage.$flavor".*
    # Subprocesses (the bridge's CLI tests) measure coverage too; wherever they run,
    # they must use this configuration (branch coverage), or the data cannot combine.
    COVERAGE_RCFILE="$repo/pyproject.toml" COVERAGE_FILE=".coverage.$flavor" "$bin/python" -m pytest -p no:cacheprovider \
        --cov --cov-report=term "$@"
    if [ $# -eq 0 ]; then
        echo "--- the pure core (decision, schedule, tokens, audit, PINs) is fully covered"
        "$bin/python" -m coverage report --data-file=".coverage.$flavor" \
            --include='custom_components/keyholder/core/*' --fail-under=100 --skip-covered
    fi
}
