"""initial: the manager's tables as a new 23.09 installation creates them

Revision ID: initial
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "kernels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
    )


def downgrade():
    op.drop_table("kernels")
    op.drop_table("users")
