"""vfolder_quota: virtual folders with a quota (24.03.0)

Revision ID: vfolder_quota
Revises: error_logs
"""
import sqlalchemy as sa
from alembic import op

revision = "vfolder_quota"
down_revision = "error_logs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "vfolders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger, nullable=True),
    )


def downgrade():
    op.drop_table("vfolders")
