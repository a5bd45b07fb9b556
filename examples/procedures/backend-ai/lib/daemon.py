"""A stand-in for the process of one Backend.AI component (manager, agent, storage-proxy,
webserver) on one host: a real long-running process that stops on SIGTERM.

    daemon.py EXAMPLE_DIR HOST COMPONENT

It runs the release it was installed with (this file's folder, `hosts/HOST/COMPONENT/versions/V`).
A manager first reads the columns its release needs (REQUIRES) from the database named in its
alembic.ini, and refuses to start (exit 2) when one is missing: new manager code needs its schema,
which is why the seed runs `alembic upgrade head` before the manager starts again. Once ready it
writes `ready` (its pid); every step of its life is a line in the host's events.log.
"""
import configparser
import os
import signal
import sys
from datetime import datetime, timezone

here, host, component = sys.argv[1:4]
release = os.path.dirname(os.path.abspath(__file__))
home = os.path.join(here, "hosts", host, component)
with open(os.path.join(release, "VERSION")) as f:
    version = f.read().strip()


def record(event, detail=""):
    """Appends "TIME COMPONENT VERSION EVENT DETAIL" to the host's events.log (one write: whole lines)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = f"{now} {component} {version} {event} {detail}".rstrip() + "\n"
    fd = os.open(os.path.join(here, "hosts", host, "events.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


# SIGTERM and SIGINT are taken by sigwait() below, never by a handler halfway through starting.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})

connection = None
if component == "manager":
    import psycopg2

    config = configparser.ConfigParser()
    config.read(os.path.join(release, "alembic.ini"))
    connection = psycopg2.connect(config.get("alembic", "sqlalchemy.url", raw=True))
    connection.autocommit = True
    missing = []
    with open(os.path.join(release, "REQUIRES")) as f:
        for need in f.read().split():
            table, column = need.split(".")
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f'SELECT "{column}" FROM "{table}" LIMIT 0')
            except psycopg2.Error:
                missing.append(need)
    if missing:
        record("start-refused", f"the database lacks {', '.join(missing)}: run alembic upgrade head")
        sys.exit(2)

with open(os.path.join(home, "ready.tmp"), "w") as f:
    f.write(f"{os.getpid()}\n")
os.replace(os.path.join(home, "ready.tmp"), os.path.join(home, "ready"))
record("started", f"pid={os.getpid()}")

sig = signal.sigwait({signal.SIGTERM, signal.SIGINT})
record("stopping", f"{signal.Signals(sig).name}: finishing in-flight work")
os.remove(os.path.join(home, "ready"))
if connection is not None:
    connection.close()
record("stopped")
