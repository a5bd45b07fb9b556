"""A stand-in for `backend.ai mgr schema apply-missing-revisions PREVIOUS_VERSION` (the seed's step
4 of a major upgrade), shipped with the manager:

    schema.py apply-missing-revisions PREVIOUS_VERSION [--dry-run]
    schema.py revert-missing-revisions PREVIOUS_VERSION

A release of the new line ships the revision history of the previous line's last release
(revision_history/PREVIOUS_VERSION.json). The revisions of this release's tree that come before
the revision the previous release stood at (its head), and that the previous release never had,
are ones `alembic upgrade head` will never run: alembic takes them as done. This applies them, in
order, in one transaction, and records each in alembic_missing_revisions, so that running it again
applies nothing twice and `revert-missing-revisions` (ferry's undo) takes back exactly those.
--dry-run lists what is missing and exits 1 if anything is (0: nothing to do), changing nothing.
"""
import json
import os
import sys
from datetime import datetime, timezone

from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

release = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(release, "VERSION")) as f:
    version = f.read().strip()
config = Config(os.path.join(release, "alembic.ini"))
scripts = ScriptDirectory.from_config(config)
LEDGER = "alembic_missing_revisions"


def record(event, detail):
    events = os.environ.get("BAI_EVENTS")
    if not events:
        return
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with open(events, "a") as f:
        f.write(f"{now} manager {version} {event} {detail}\n")


def missing(previous):
    """The revisions this tree puts before the previous release's head that it never had, oldest first."""
    path = os.path.join(release, "revision_history", f"{previous}.json")
    if not os.path.exists(path):
        sys.exit(
            f"no revision history of {previous} in backend.ai-manager {version}: upgrade the cluster "
            "to the very latest release of the prior major version before this major upgrade"
        )
    with open(path) as f:
        history = json.load(f)["revisions"]
    had = {r["revision"] for r in history}
    head = next(r["revision"] for r in history if r["is_head"])
    before = list(scripts.walk_revisions(base="base", head=head))  # newest first
    return [s for s in reversed(before) if s.revision not in had]


def main(command, previous, dry_run):
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        has_ledger = connection.execute(text(f"SELECT to_regclass('{LEDGER}') IS NOT NULL")).scalar()
        done = set()
        if has_ledger:
            done = {r[0] for r in connection.execute(text(f"SELECT revision FROM {LEDGER}"))}
        todo = [s for s in missing(previous) if s.revision not in done]
        if command == "apply-missing-revisions" and dry_run:
            for s in todo:
                print(f"missing: {s.revision}")
            return 1 if todo else 0
        context = MigrationContext.configure(connection)
        changed = []
        with Operations.context(context):
            if command == "apply-missing-revisions":
                connection.execute(text(f"CREATE TABLE IF NOT EXISTS {LEDGER} (revision text PRIMARY KEY)"))
                for s in todo:
                    print(f"applying {s.revision}")
                    s.module.upgrade()
                    connection.execute(text(f"INSERT INTO {LEDGER} VALUES (:r)"), {"r": s.revision})
                    changed.append(s.revision)
            else:
                for s in reversed([s for s in missing(previous) if s.revision in done]):
                    print(f"reverting {s.revision}")
                    s.module.downgrade()
                    connection.execute(text(f"DELETE FROM {LEDGER} WHERE revision = :r"), {"r": s.revision})
                    changed.append(s.revision)
    # Recorded once the transaction has committed: the record says what the database holds.
    for r in changed:
        record("missing-revision", f"{'applied' if command == 'apply-missing-revisions' else 'reverted'} {r}")
    if not changed:
        print("no missing revisions")
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dry-run"]
    if len(args) != 2 or args[0] not in ("apply-missing-revisions", "revert-missing-revisions"):
        sys.exit(__doc__)
    sys.exit(main(args[0], args[1], "--dry-run" in sys.argv))
