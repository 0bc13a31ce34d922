# Installs axe-core from npm for the page accessibility tests; sourced by scripts/test.sh.
# The package lives in tests/e2e/axe/node_modules (not in git); package-lock.json pins it.
AXE_DIR="$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/axe"
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm) \
      >/tmp/mentorflow-npm-install.log 2>&1 || true
  fi
  if command -v npm >/dev/null 2>&1; then
    (cd "$AXE_DIR" && npm ci --no-audit --no-fund >/tmp/mentorflow-axe-install.log 2>&1) \
      || export MENTORFLOW_AXE_SKIP="npm ci for axe-core failed (see /tmp/mentorflow-axe-install.log)"
  else
    export MENTORFLOW_AXE_SKIP="npm is not installed and this user cannot install it"
  fi
fi
