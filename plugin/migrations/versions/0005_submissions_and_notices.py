"""submissions and notices

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notice_text',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('change_summary', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_text')),
    sa.UniqueConstraint('version', 'lang', name=op.f('uq_notice_text_version_lang'))
    )
    with op.batch_alter_table('notice_text', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_text_version'), ['version'], unique=False)

    op.create_table('notice_acknowledgement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notice_acknowledgement_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_acknowledgement')),
    sa.UniqueConstraint('user_id', 'version', name=op.f('uq_notice_acknowledgement_user_id_version'))
    )
    op.create_table('assignment_reopening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_assignment_reopening_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['user_account.id'], name=op.f('fk_assignment_reopening_student_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignment_reopening'))
    )
    with op.batch_alter_table('assignment_reopening', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_reopening_assignment_id'), ['assignment_id'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('term', sa.String(length=20), nullable=False),
    sa.Column('notice_version', sa.Integer(), nullable=True),
    sa.Column('ai_used', sa.Boolean(), nullable=False),
    sa.Column('tasks', sa.Text(), nullable=False),
    sa.Column('other_text', sa.String(length=300), nullable=True),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('model_version', sa.String(length=200), nullable=True),
    sa.Column('use_dates', sa.Text(), nullable=False),
    sa.Column('drafts_url', sa.String(length=2000), nullable=True),
    sa.Column('use_rows', sa.Text(), nullable=False),
    sa.Column('checked', sa.Boolean(), nullable=False),
    sa.Column('not_allowed', sa.Text(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('statement_lang', sa.String(length=8), nullable=False),
    sa.Column('grade', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True),
    sa.Column('feedback', sa.Text(), nullable=True),
    sa.Column('graded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('graded_by', sa.String(length=200), nullable=True),
    sa.Column('lms_status', sa.String(length=10), nullable=True),
    sa.CheckConstraint("(ai_used AND checked) OR (NOT ai_used AND service IS NULL AND tasks = '[]')", name=op.f('ck_submission_disclosure_consistent')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_submission_version_positive')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_submission_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['user_account.id'], name=op.f('fk_submission_student_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission')),
    sa.UniqueConstraint('assignment_id', 'student_id', 'version', name=op.f('uq_submission_assignment_id_student_id_version')),
    sa.UniqueConstraint('student_id', 'idempotency_key', name=op.f('uq_submission_student_id_idempotency_key'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_student_id'), ['student_id'], unique=False)

    op.create_table('submission_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('copy_of', sa.Integer(), nullable=True),
    sa.CheckConstraint("role IN ('original', 'copy', 'draft')", name=op.f('ck_submission_file_file_role_known')),
    sa.ForeignKeyConstraint(['copy_of'], ['submission_file.id'], name=op.f('fk_submission_file_copy_of_submission_file'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_submission_file_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_file'))
    )
    with op.batch_alter_table('submission_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_file_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_file_submission_id'), ['submission_id'], unique=False)

    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('configured_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('instructions', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('late_policy', sa.String(length=10), server_default='mark', nullable=False))
        batch_op.add_column(sa.Column('degree_level', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('task_policy', sa.Text(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('drafts_required', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('oral_defence_possible', sa.Boolean(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('no_ai_alternative', sa.Text(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_assignment_late_policy_known'), "late_policy IN ('mark', 'refuse')")



def downgrade() -> None:
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assignment_late_policy_known'), type_='check')
        batch_op.drop_column('no_ai_alternative')
        batch_op.drop_column('oral_defence_possible')
        batch_op.drop_column('drafts_required')
        batch_op.drop_column('task_policy')
        batch_op.drop_column('degree_level')
        batch_op.drop_column('late_policy')
        batch_op.drop_column('due_at')
        batch_op.drop_column('instructions')
        batch_op.drop_column('configured_at')

    with op.batch_alter_table('submission_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_file_submission_id'))
        batch_op.drop_index(batch_op.f('ix_submission_file_sha256'))

    op.drop_table('submission_file')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_student_id'))
        batch_op.drop_index(batch_op.f('ix_submission_assignment_id'))

    op.drop_table('submission')
    with op.batch_alter_table('assignment_reopening', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_reopening_assignment_id'))

    op.drop_table('assignment_reopening')
    op.drop_table('notice_acknowledgement')
    with op.batch_alter_table('notice_text', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_text_version'))

    op.drop_table('notice_text')
