"""one chair per commission

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('commission_member', schema=None) as batch_op:
        batch_op.create_index('uq_commission_member_one_chair', ['commission_id'], unique=True, sqlite_where=sa.text("role = 'chair' AND active"), postgresql_where=sa.text("role = 'chair' AND active"))



def downgrade() -> None:
    with op.batch_alter_table('commission_member', schema=None) as batch_op:
        batch_op.drop_index('uq_commission_member_one_chair', sqlite_where=sa.text("role = 'chair' AND active"), postgresql_where=sa.text("role = 'chair' AND active"))

