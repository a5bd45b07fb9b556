"""A stand-in for `cinder-manage service …` on the cinder database:

    manage.py list [--orphans]          the services table; --orphans: only the dead records, exit 1 if any
    manage.py disable HOST BINARY       the service takes no new work (`cinder service-disable`)
    manage.py enable HOST BINARY
    manage.py remove BINARY HOST        delete a record (`cinder-manage service remove`)

A record is dead (an orphan) when it has not been updated for service_down_time (60 s, Cinder's
default): a service that is gone, or whose host name changed. Cinder detects RPC versions from
this table, so orphans can keep newer services from starting; the seed says to remove them first.
"""
import os
import sys
from configparser import ConfigParser
from datetime import datetime, timezone

import psycopg2

here = os.getcwd()
SERVICE_DOWN_TIME = 60
config = ConfigParser()
config.read(os.path.join(here, "etc", "cinder.conf"))
db = psycopg2.connect(config.get("database", "connection"))


def record(host, binary, event, detail):
    log = os.path.join(here, "hosts", host, "events.log")
    if not os.path.exists(os.path.dirname(log)):
        return
    with open(log, "a") as f:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        f.write(f"{now} {binary.removeprefix('cinder-')} - {event} {detail}\n")


def main(args):
    with db, db.cursor() as c:
        if args[:1] == ["list"]:
            where = f"WHERE updated_at IS NULL OR updated_at < now() - interval '{SERVICE_DOWN_TIME} seconds'"
            c.execute(
                'SELECT "binary", host, version, rpc_current_version, updated_at FROM services '
                + (where if "--orphans" in args else "")
                + ' ORDER BY "binary", host'
            )
            rows = c.fetchall()
            for r in rows:
                print(" ".join(str(x) for x in r))
            if "--orphans" in args and rows:
                print(
                    f"{len(rows)} orphaned service record(s): remove each with `cinder-manage service remove BINARY HOST`",
                    file=sys.stderr,
                )
                return 1
            return 0
        if args[:1] in (["disable"], ["enable"]) and len(args) == 3:
            _, host, binary = args
            c.execute('UPDATE services SET disabled = %s WHERE "binary" = %s AND host = %s', (args[0] == "disable", binary, host))
            if c.rowcount != 1:
                print(f"no service {binary} on {host}", file=sys.stderr)
                return 1
            record(host, binary, f"service-{args[0]}d", f"cinder service-{args[0]} {host} {binary}")
            return 0
        if args[:1] == ["remove"] and len(args) == 3:
            c.execute('DELETE FROM services WHERE "binary" = %s AND host = %s', (args[1], args[2]))
            print(f"removed {c.rowcount} record(s)")
            return 0
    sys.exit(__doc__)


sys.exit(main(sys.argv[1:]))
