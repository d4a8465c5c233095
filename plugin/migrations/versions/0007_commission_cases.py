"""commission cases

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission')),
    sa.UniqueConstraint('name', name=op.f('uq_commission_name'))
    )
    op.create_table('commission_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commission_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('chair', 'secretary', 'member')", name=op.f('ck_commission_member_role_known')),
    sa.ForeignKeyConstraint(['commission_id'], ['commission.id'], name=op.f('fk_commission_member_commission_id_commission'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_commission_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_member')),
    sa.UniqueConstraint('commission_id', 'user_id', name=op.f('uq_commission_member_commission_id_user_id'))
    )
    with op.batch_alter_table('commission_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commission_member_commission_id'), ['commission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commission_member_user_id'), ['user_id'], unique=False)

    op.create_table('integrity_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('commission_id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('incident_level', sa.Integer(), nullable=True),
    sa.Column('allegation', sa.Text(), nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('objection_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('student_response', sa.Text(), nullable=True),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hearing_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hearing_place', sa.String(length=300), nullable=True),
    sa.Column('support_person', sa.String(length=200), nullable=True),
    sa.Column('finding', sa.String(length=20), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sanction_level', sa.Integer(), nullable=True),
    sa.Column('sanction_code', sa.String(length=40), nullable=True),
    sa.Column('sanction_reasons', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_note', sa.Text(), nullable=True),
    sa.CheckConstraint("(state = 'issued') = (issued_at IS NOT NULL)", name=op.f('ck_integrity_case_issued_has_time')),
    sa.CheckConstraint("NOT (state IN ('decided', 'issued')) OR (finding = 'responsible' AND sanction_level IS NOT NULL)", name=op.f('ck_integrity_case_sanctioned_has_level')),
    sa.CheckConstraint("NOT (state IN ('notified', 'accepted', 'contested', 'hearing_scheduled', 'deliberation', 'sanctioning', 'decided', 'issued', 'not_responsible')) OR (notified_at IS NOT NULL AND response_due_at IS NOT NULL)", name=op.f('ck_integrity_case_notified_has_deadline')),
    sa.CheckConstraint("NOT (state IN ('sanctioning', 'decided', 'issued', 'not_responsible')) OR (finding IS NOT NULL AND reasons IS NOT NULL AND decided_at IS NOT NULL)", name=op.f('ck_integrity_case_decided_has_finding')),
    sa.CheckConstraint("finding IS NULL OR finding IN ('responsible', 'not_responsible')", name=op.f('ck_integrity_case_finding_known')),
    sa.CheckConstraint("state != 'not_responsible' OR (finding = 'not_responsible' AND sanction_level IS NULL)", name=op.f('ck_integrity_case_not_responsible_has_no_sanction')),
    sa.CheckConstraint("state IN ('referred', 'notified', 'accepted', 'contested', 'hearing_scheduled', 'deliberation', 'sanctioning', 'decided', 'issued', 'not_responsible', 'withdrawn')", name=op.f('ck_integrity_case_state_known')),
    sa.CheckConstraint('incident_level IS NULL OR incident_level IN (1, 2, 3)', name=op.f('ck_integrity_case_incident_known')),
    sa.CheckConstraint('sanction_level IS NULL OR sanction_level BETWEEN 0 AND 3', name=op.f('ck_integrity_case_sanction_level_range')),
    sa.ForeignKeyConstraint(['commission_id'], ['commission.id'], name=op.f('fk_integrity_case_commission_id_commission'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_integrity_case_course_id_course'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_integrity_case_flag_id_flag'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['student_id'], ['user_account.id'], name=op.f('fk_integrity_case_student_id_user_account'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_integrity_case_submission_id_submission'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integrity_case')),
    sa.UniqueConstraint('flag_id', name=op.f('uq_integrity_case_flag_id')),
    sa.UniqueConstraint('number', name=op.f('uq_integrity_case_number'))
    )
    with op.batch_alter_table('integrity_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integrity_case_commission_id'), ['commission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_case_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_case_response_due_at'), ['response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_case_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_case_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integrity_case_submission_id'), ['submission_id'], unique=False)

    op.create_table('case_objection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('member_user_id', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ruling', sa.String(length=10), nullable=True),
    sa.Column('ruling_reasons', sa.Text(), nullable=True),
    sa.Column('ruled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("ruling IS NULL OR ruling IN ('upheld', 'rejected')", name=op.f('ck_case_objection_ruling_known')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_objection_case_id_integrity_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_user_id'], ['user_account.id'], name=op.f('fk_case_objection_member_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_objection'))
    )
    with op.batch_alter_table('case_objection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_objection_case_id'), ['case_id'], unique=False)

    op.create_table('case_recusal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason IN ('flagged', 'teaches_course', 'declared', 'objection')", name=op.f('ck_case_recusal_reason_known')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_recusal_case_id_integrity_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_case_recusal_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_recusal')),
    sa.UniqueConstraint('case_id', 'user_id', name=op.f('uq_case_recusal_case_id_user_id'))
    )
    with op.batch_alter_table('case_recusal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_recusal_case_id'), ['case_id'], unique=False)

    op.create_table('case_statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_statement_case_id_integrity_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_statement'))
    )
    with op.batch_alter_table('case_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_statement_case_id'), ['case_id'], unique=False)

    op.create_table('case_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('vote', sa.String(length=20), nullable=False),
    sa.Column('sanction_level', sa.Integer(), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('cited_evidence', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(question = 'finding' AND vote IN ('responsible', 'not_responsible', 'abstain') AND sanction_level IS NULL) OR (question = 'sanction' AND vote = 'level' AND sanction_level BETWEEN 0 AND 3)", name=op.f('ck_case_vote_vote_matches_question')),
    sa.CheckConstraint("question IN ('finding', 'sanction')", name=op.f('ck_case_vote_question_known')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_vote_case_id_integrity_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_case_vote_user_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_vote')),
    sa.UniqueConstraint('case_id', 'question', 'user_id', name=op.f('uq_case_vote_case_id_question_user_id'))
    )
    with op.batch_alter_table('case_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_vote_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_vote_case_id'))

    op.drop_table('case_vote')
    with op.batch_alter_table('case_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_statement_case_id'))

    op.drop_table('case_statement')
    with op.batch_alter_table('case_recusal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_recusal_case_id'))

    op.drop_table('case_recusal')
    with op.batch_alter_table('case_objection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_objection_case_id'))

    op.drop_table('case_objection')
    with op.batch_alter_table('integrity_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_case_submission_id'))
        batch_op.drop_index(batch_op.f('ix_integrity_case_student_id'))
        batch_op.drop_index(batch_op.f('ix_integrity_case_state'))
        batch_op.drop_index(batch_op.f('ix_integrity_case_response_due_at'))
        batch_op.drop_index(batch_op.f('ix_integrity_case_course_id'))
        batch_op.drop_index(batch_op.f('ix_integrity_case_commission_id'))

    op.drop_table('integrity_case')
    with op.batch_alter_table('commission_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commission_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_commission_member_commission_id'))

    op.drop_table('commission_member')
    op.drop_table('commission')
