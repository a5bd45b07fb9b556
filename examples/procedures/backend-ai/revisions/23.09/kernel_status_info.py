"""kernel_status_info: why a kernel is in its status (23.09.9)

Revision ID: kernel_status_info
Revises: initial
"""
import sqlalchemy as sa
from alembic import op

revision = "kernel_status_info"
down_revision = "initial"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("kernels", sa.Column("status_info", sa.Text, nullable=True))


def downgrade():
    op.drop_column("kernels", "status_info")
