"""retention: legal holds and anonymised cases

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legal_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject_kind', sa.String(length=10), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('released_by', sa.String(length=200), nullable=True),
    sa.CheckConstraint("subject_kind IN ('case', 'user', 'course')", name=op.f('ck_legal_hold_kind_known')),
    sa.CheckConstraint('(released_at IS NULL) = (released_by IS NULL)', name=op.f('ck_legal_hold_released_has_actor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_hold'))
    )
    op.create_table('anonymised_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('commission_id', sa.Integer(), nullable=True),
    sa.Column('term', sa.String(length=20), nullable=True),
    sa.Column('submission_language', sa.String(length=8), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('incident_level', sa.Integer(), nullable=True),
    sa.Column('finding', sa.String(length=20), nullable=True),
    sa.Column('sanction_level', sa.Integer(), nullable=True),
    sa.Column('final_sanction_level', sa.Integer(), nullable=True),
    sa.Column('sanction_code', sa.String(length=40), nullable=True),
    sa.Column('appealed', sa.Boolean(), nullable=False),
    sa.Column('appeal_outcome', sa.String(length=20), nullable=True),
    sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_anonymised_case_course_id_course'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymised_case'))
    )
    op.create_index(op.f('ix_anonymised_case_course_id'), 'anonymised_case', ['course_id'], unique=False)
    op.create_table('anonymised_submission_count',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=20), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.CheckConstraint('count >= 0', name=op.f('ck_anonymised_submission_count_count_not_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_anonymised_submission_count_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_anonymised_submission_count')),
    sa.UniqueConstraint('course_id', 'term', 'language', name=op.f('uq_anonymised_submission_count_course_id_term_language'))
    )
    op.create_index(op.f('ix_anonymised_submission_count_course_id'), 'anonymised_submission_count', ['course_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_anonymised_submission_count_course_id'), table_name='anonymised_submission_count')
    op.drop_table('anonymised_submission_count')
    op.drop_index(op.f('ix_anonymised_case_course_id'), table_name='anonymised_case')
    op.drop_table('anonymised_case')
    op.drop_table('legal_hold')
