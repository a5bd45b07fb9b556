"""error_logs: the errors components report (23.09.10, backported from the 24.03 line)

On the 23.09 line it follows kernel_status_info; on the 24.03 line the same revision follows
session_priority (revisions/24.03/error_logs.py), which a 23.09 database therefore never ran:
that is what `apply-missing-revisions` fills in.

Revision ID: error_logs
Revises: kernel_status_info
"""
import sqlalchemy as sa
from alembic import op

revision = "error_logs"
down_revision = "kernel_status_info"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "error_logs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )


def downgrade():
    op.drop_table("error_logs")
