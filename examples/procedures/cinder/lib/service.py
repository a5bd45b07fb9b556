"""A stand-in for one Cinder service on one host: a real long-running process over the cinder
database (PostgreSQL), which works on a tick of 0.25 s:

    service.py EXAMPLE_DIR HOST scheduler|volume|backup|api

- api: while the load balancer (etc/balancer) lists its host, takes one volume request per tick
  on its users' behalf (up to 120 volumes in all): a volume row, and for every fourth one the
  admin metadata `temporary=True`. A release whose quota is `use_quota` (19.0.0) also writes
  volumes.use_quota. Out of the balancer it takes none and says so in `drained`.
- scheduler: schedules `creating` volumes to the backend (`scheduled`); two of them share the work.
- volume: active-passive. Only the host named in etc/volume-active (the backend's lock) serves it,
  turning `scheduled` volumes `available`; both have the same service host, `cinder@lvm`, as the
  seed asks of an active/passive pair.
- backup: backs up `available` volumes, unless its row in `services` is disabled
  (`cinder-manage service disable`, which ferry runs before it stops one).

Every service records itself in `services` (its version and RPC version; Cinder detects versions
from that table) and refuses to start (exit 2) when the database lacks a column its release reads:
19.0.0 needs volumes.use_quota, which is why the schema migrations go first. The RPC version is
its own release's, capped by the pin (etc/upgrade_levels, which ferry's pin writes), and is read
at start and on SIGHUP only: a service keeps speaking the pinned version after the unpin until it
gets SIGHUP. cinder-api does not handle SIGHUP (it must be restarted), as the seed says. SIGTERM
ends the tick in hand, then the process. Each step of its life is a line in the host's events.log.
"""
import os
import signal
import sys
from configparser import ConfigParser
from datetime import datetime, timezone

import psycopg2

here, host, service = sys.argv[1:4]
binary = f"cinder-{service}"
release = os.path.dirname(os.path.abspath(__file__))
home = os.path.join(here, "hosts", host, service)
with open(os.path.join(release, "VERSION")) as f:
    version = f.read().strip()
with open(os.path.join(release, "release.conf")) as f:
    conf = dict(line.strip().split("=", 1) for line in f if "=" in line and not line.startswith("#"))
# An active/passive pair listens as one service host, so both take the same messages.
service_host = "cinder@lvm" if service == "volume" else host
REQUESTS = 120
TICK = 0.25


def record(event, detail=""):
    """Appends "TIME SERVICE VERSION EVENT DETAIL" to the host's events.log (one write: whole lines)."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    line = f"{now} {service} {version} {event} {detail}".rstrip() + "\n"
    fd = os.open(os.path.join(here, "hosts", host, "events.log"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def read(path, default=""):
    try:
        with open(os.path.join(here, path)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return default


def numbers(version):
    return tuple(int(x) for x in version.split("."))


def rpc_version():
    """Our RPC version, capped by the pin; with the pin it came from, if any."""
    pin = read("etc/upgrade_levels")
    own = conf["rpc"]
    if not pin:
        return own, None
    pinned = ".".join(pin.split(".")[:2])
    return min(own, pinned, key=numbers), pin


config = ConfigParser()
config.read(os.path.join(here, "etc", "cinder.conf"))
db = psycopg2.connect(config.get("database", "connection"))

missing = []
for need in conf.get("requires", "").split():
    table, column = need.split(".")
    try:
        with db, db.cursor() as c:
            c.execute(f'SELECT "{column}" FROM "{table}" LIMIT 0')
    except psycopg2.Error:
        missing.append(need)
if missing:
    record("start-refused", f"the database lacks {', '.join(missing)}: run cinder-manage db sync first")
    sys.exit(2)

# Signals are taken between ticks by sigtimedwait(), never in the middle of one.
SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
rpc, pin = rpc_version()
state = {"role": None, "balancer": None, "disabled": None}


def heartbeat(c):
    c.execute(
        'INSERT INTO services ("binary", host, version, rpc_current_version, updated_at) '
        "VALUES (%s, %s, %s, %s, now()) ON CONFLICT (\"binary\", host) DO UPDATE SET "
        "version = EXCLUDED.version, rpc_current_version = EXCLUDED.rpc_current_version, updated_at = now()",
        (binary, service_host, version, rpc),
    )


def changed(key, value, event, detail):
    if state[key] != value:
        state[key] = value
        record(event, detail)


def tick():
    """One unit of work, in one transaction: all of it or none."""
    with db, db.cursor() as c:
        if service == "volume":
            active = read("etc/volume-active") == host
            changed("role", active, "role", "active: serving backend lvm" if active else "standby")
            if not active:
                return
            c.execute("UPDATE volumes SET status = 'available' WHERE status = 'scheduled'")
        elif service == "scheduler":
            c.execute(
                "UPDATE volumes SET status = 'scheduled', host = 'cinder@lvm#pool' WHERE id IN "
                "(SELECT id FROM volumes WHERE status = 'creating' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED)"
            )
        elif service == "backup":
            c.execute('SELECT disabled FROM services WHERE "binary" = %s AND host = %s', (binary, service_host))
            row = c.fetchone()
            disabled = bool(row and row[0])
            changed("disabled", disabled, "disabled" if disabled else "enabled",
                    "taking no new backups" if disabled else "taking backups")
            if not disabled:
                c.execute(
                    "INSERT INTO backups (volume_id, host) SELECT id, %s FROM volumes v "
                    "WHERE status = 'available' AND NOT deleted "
                    "AND NOT EXISTS (SELECT 1 FROM backups b WHERE b.volume_id = v.id) "
                    "ORDER BY id LIMIT 5 ON CONFLICT (volume_id) DO NOTHING",
                    (host,),
                )
        elif service == "api":
            serving = host in read("etc/balancer").split()
            changed("balancer", serving, "balancer", "in: taking requests" if serving else "out: taking none")
            drained = os.path.join(home, "drained")
            if not serving:
                # Between ticks nothing is in flight: the drain may go on.
                open(drained, "w").close()
            else:
                if os.path.exists(drained):
                    os.remove(drained)
                c.execute("SELECT count(*) FROM volumes")
                n = c.fetchone()[0]
                if n < REQUESTS:
                    temporary = n % 4 == 3
                    if conf["quota"] == "use_quota":
                        c.execute(
                            "INSERT INTO volumes (display_name, size, status, use_quota) "
                            "VALUES (%s, 1, 'creating', %s) RETURNING id",
                            (f"vol-{n}", not temporary),
                        )
                    else:
                        c.execute(
                            "INSERT INTO volumes (display_name, size, status) VALUES (%s, 1, 'creating') RETURNING id",
                            (f"vol-{n}",),
                        )
                    if temporary:
                        c.execute(
                            "INSERT INTO volume_admin_metadata (volume_id, key, value) VALUES (%s, 'temporary', 'True')",
                            (c.fetchone()[0],),
                        )
        if service != "volume" or state["role"]:
            heartbeat(c)


def safe_tick():
    try:
        tick()
    except psycopg2.Error as e:
        record("error", str(e).strip().splitlines()[0])


safe_tick()
with open(os.path.join(home, "ready.tmp"), "w") as f:
    f.write(f"{os.getpid()}\n")
os.replace(os.path.join(home, "ready.tmp"), os.path.join(home, "ready"))
record("started", f"pid={os.getpid()} rpc={rpc}" + (f" (pinned to {pin})" if pin else ""))

while True:
    sig = signal.sigtimedwait(SIGNALS, TICK)
    if sig is not None and sig.si_signo in (signal.SIGTERM, signal.SIGINT):
        record("stopping", f"{signal.Signals(sig.si_signo).name}: finishing in-flight work")
        break
    if sig is not None and sig.si_signo == signal.SIGHUP:
        if service == "api":
            record("sighup-ignored", "cinder-api does not handle SIGHUP: restart it")
        else:
            rpc, pin = rpc_version()
            record("sighup", f"service version cache cleared: rpc={rpc}" + (f" (pinned to {pin})" if pin else ""))
    safe_tick()

os.remove(os.path.join(home, "ready"))
db.close()
record("stopped")
