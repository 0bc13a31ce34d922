# Starts a local PostgreSQL for the store tests when one can be had; sourced by scripts/test.sh.
# Exports MENTORFLOW_TEST_PG_URL on success; on failure the PostgreSQL tests skip with the reason
# written to MENTORFLOW_TEST_PG_SKIP.
pg_try() {
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/tmp/mentorflow-pg-install.log 2>&1 \
        || { echo "apt-get install postgresql failed (see /tmp/mentorflow-pg-install.log)"; return 1; }
    else
      echo "PostgreSQL is not installed and this user cannot install it"; return 1
    fi
  fi
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
  [ -n "$version" ] || { echo "no PostgreSQL cluster found in /etc/postgresql"; return 1; }
  if ! pg_lsclusters 2>/dev/null | grep -q "online"; then
    pg_ctlcluster "$version" main start >/tmp/mentorflow-pg-start.log 2>&1 \
      || { echo "pg_ctlcluster $version main start failed (see /tmp/mentorflow-pg-start.log)"; return 1; }
  fi
  local port
  port=$(pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $3; exit}')
  su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_roles WHERE rolname='mentorflow'\" | grep -q 1 || psql -q -p $port -c \"CREATE ROLE mentorflow LOGIN PASSWORD 'mentorflow' CREATEDB\"" >/dev/null 2>&1 \
    || { echo "could not create the mentorflow role"; return 1; }
  su postgres -c "psql -q -p $port -tc \"SELECT 1 FROM pg_database WHERE datname='mentorflow_test'\" | grep -q 1 || createdb -p $port -O mentorflow mentorflow_test" >/dev/null 2>&1 \
    || { echo "could not create the mentorflow_test database"; return 1; }
  export MENTORFLOW_TEST_PG_URL="postgresql://mentorflow:mentorflow@127.0.0.1:$port/mentorflow_test"
}
if [ -z "${MENTORFLOW_TEST_PG_URL:-}" ]; then
  if reason=$(pg_try); then
    pg_try >/dev/null 2>&1 || true   # run again in this shell so the export sticks
  else
    export MENTORFLOW_TEST_PG_SKIP="$reason"
  fi
fi
