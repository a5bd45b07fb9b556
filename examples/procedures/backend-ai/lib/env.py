"""Alembic's environment for backend.ai-manager's revisions.

One transaction per revision (transaction_per_migration): when a revision fails, the ones before
it in the same `alembic upgrade head` stay applied and alembic_version names the last of them, so
the way back is `alembic downgrade <the previous release's head>`, which ferry's undo runs.
"""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name)

engine = engine_from_config(
    config.get_section(config.config_ini_section), prefix="sqlalchemy.", poolclass=pool.NullPool
)
with engine.connect() as connection:
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
