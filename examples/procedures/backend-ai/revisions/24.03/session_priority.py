"""session_priority: a scheduling priority per kernel (24.03 line, before error_logs came to it)

Revision ID: session_priority
Revises: kernel_status_info
"""
import sqlalchemy as sa
from alembic import op

revision = "session_priority"
down_revision = "kernel_status_info"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("kernels", sa.Column("priority", sa.Integer, nullable=False, server_default="10"))


def downgrade():
    op.drop_column("kernels", "priority")
