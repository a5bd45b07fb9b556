"""error_logs: the errors components report (24.03.0; backported to 23.09.10)

On the 24.03 line it follows session_priority. 23.09.10 ships the same revision after
kernel_status_info (revisions/23.09/error_logs.py), so a database upgraded along 23.09 stands at
error_logs without ever having run session_priority: `apply-missing-revisions` fills it in.

Revision ID: error_logs
Revises: session_priority
"""
import sqlalchemy as sa
from alembic import op

revision = "error_logs"
down_revision = "session_priority"
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
