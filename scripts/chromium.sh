# Installs Debian's headless Chromium and its driver for the page tests; sourced by scripts/test.sh.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) \
      >/tmp/mentorflow-chromium-install.log 2>&1 \
      || export MENTORFLOW_BROWSER_SKIP="apt-get install chromium chromium-driver failed (see /tmp/mentorflow-chromium-install.log)"
  else
    export MENTORFLOW_BROWSER_SKIP="chromium is not installed and this user cannot install it"
  fi
fi
