"""vfolder_usage_mode: what a virtual folder is for (24.03.1)

Revision ID: vfolder_usage_mode
Revises: vfolder_quota
"""
import sqlalchemy as sa
from alembic import op

revision = "vfolder_usage_mode"
down_revision = "vfolder_quota"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("vfolders", sa.Column("usage_mode", sa.String(16), nullable=False, server_default="general"))


def downgrade():
    op.drop_column("vfolders", "usage_mode")
