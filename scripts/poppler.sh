# Installs Debian's poppler-utils (pdftoppm) for the certificate tests; sourced by scripts/test.sh.
if ! command -v pdftoppm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get install -y -qq poppler-utils || (apt-get update -qq && apt-get install -y -qq poppler-utils)) \
      >/tmp/mentorflow-poppler-install.log 2>&1 \
      || export MENTORFLOW_PDFTOPPM_SKIP="apt-get install poppler-utils failed (see /tmp/mentorflow-poppler-install.log)"
  else
    export MENTORFLOW_PDFTOPPM_SKIP="pdftoppm is not installed and this user cannot install it"
  fi
fi
