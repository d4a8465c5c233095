"""login state hints and platform storage

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lti_login_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('login_hint', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('message_hint', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('deployment_hint', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('storage_target', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('storage_secret_hash', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('lti_login_state', schema=None) as batch_op:
        batch_op.drop_column('storage_secret_hash')
        batch_op.drop_column('storage_target')
        batch_op.drop_column('deployment_hint')
        batch_op.drop_column('message_hint')
        batch_op.drop_column('login_hint')

