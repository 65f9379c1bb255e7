# Request Tracker 5 as a benchmark peer, sourced by scripts/bench-desk-peer
# and scripts/bench-email-peer: installs Debian's request-tracker5 with
# rt5-db-sqlite when it is missing, writes a site configuration in a fresh
# folder (SQLite database, mail to a sendmail that drops it), initialises
# the database and starts the standalone rt-server (Starlet). Needs DRIVER
# (the koban-bench binary) and, optionally, RT_EXTRA_DATA (the text of an RT
# data file); sets WORK, PORT, RT_PID and RT_VERSION, and stops RT and
# removes WORK on exit. RT's warnings and errors go to $WORK/server.log.

RT_LIBEXEC=/usr/share/request-tracker5/libexec

if ! command -v rt-setup-database >/dev/null 2>&1 || [ ! -x "$RT_LIBEXEC/rt-server" ]; then
  echo "== installing Request Tracker 5 (apt-get)" >&2
  # Its own database is set up below; dbconfig-common's questions are
  # answered with their defaults.
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    request-tracker5 rt5-db-sqlite rt5-standalone >&2
fi
RT_VERSION=$(dpkg-query -W -f '${Version}' request-tracker5 2>/dev/null || echo unknown)

WORK=$(mktemp -d -t koban-rt.XXXXXX)
RT_PID=""
cleanup() {
  if [ -n "$RT_PID" ] && kill -0 "$RT_PID" 2>/dev/null; then
    kill -TERM "$RT_PID" 2>/dev/null || true
    wait "$RT_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$("$DRIVER" free-port)
mkdir -p "$WORK/site.d"
# RT mails the requester an acknowledgement of each new ticket (its
# "Autoreply" scrip), as Koban queues one: here the mail goes to a
# sendmail that reads it and drops it, as Koban's outbox keeps its own.
cat >"$WORK/sendmail" <<'SH'
#!/bin/sh
cat >/dev/null
SH
chmod +x "$WORK/sendmail"
cat >"$WORK/RT_SiteConfig.pm" <<PERL
Set(\$rtname, 'koban-bench');
Set(\$Organization, 'koban-bench.example');
Set(\$Timezone, 'UTC');
Set(\$DatabaseType, 'SQLite');
Set(\$DatabaseName, '$WORK/rtdb');
Set(\$WebPath, '');
Set(\$WebDomain, '127.0.0.1');
Set(\$WebPort, $PORT);
Set(\$WebBaseURL, 'http://127.0.0.1:$PORT');
Set(\$CorrespondAddress, 'rt\@koban-bench.example');
Set(\$CommentAddress, 'rt-comment\@koban-bench.example');
Set(\$MailCommand, 'sendmailpipe');
Set(\$SendmailPath, '$WORK/sendmail');
Set(\$SendmailArguments, '');
Set(\$LogToSTDERR, 'warning');
Set(\$LogToSyslog, undef);
Set(\$LogToFile, undef);
1;
PERL
export RT_SITE_CONFIG=$WORK/RT_SiteConfig.pm
export RT_SITE_CONFIG_DIR=$WORK/site.d

echo "== RT $RT_VERSION: rt-setup-database --action init (SQLite $WORK/rtdb)" >&2
rt-setup-database --action init --skip-create >"$WORK/setup.log" 2>&1 ||
  rt-setup-database --action init >"$WORK/setup.log" 2>&1 ||
  { tail -n 30 "$WORK/setup.log" >&2; exit 1; }

# Rights the caller's benchmark needs beyond RT's defaults (an RT data
# file, e.g. letting Everyone create tickets by mail), inserted before the
# server starts so no worker caches the rights without them.
if [ -n "${RT_EXTRA_DATA:-}" ]; then
  printf '%s\n' "$RT_EXTRA_DATA" >"$WORK/extra-data.pl"
  rt-setup-database --action insert --skip-create --datafile "$WORK/extra-data.pl" >>"$WORK/setup.log" 2>&1 ||
    { tail -n 30 "$WORK/setup.log" >&2; exit 1; }
fi

workers=()
[ -n "${BENCH_RT_WORKERS:-}" ] && workers=(--max-workers "$BENCH_RT_WORKERS")
"$RT_LIBEXEC/rt-server" --port "$PORT" "${workers[@]}" >"$WORK/server.log" 2>&1 &
RT_PID=$!
for _ in $(seq 1 300); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/REST/2.0/queues/all" -u root:password || true)
  [ "$code" = 200 ] && break
  kill -0 "$RT_PID" 2>/dev/null || { tail -n 30 "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
[ "$code" = 200 ] || { echo "rt-server did not answer 200 (last: $code)" >&2; tail -n 30 "$WORK/server.log" >&2; exit 1; }
