"""Appeals, written decisions, the decision's effects (grade adjustments), final state columns

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 04:10:55.941584
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


_S = ("'referred', 'notified', 'accepted', 'contested', 'hearing_scheduled', 'deliberation', 'sanctioning', "
      "'decided', 'issued'")
_N = _S.replace("'referred', ", "")  # the states after the notice
_A = "'appealed', 'appeal_review', 'closed', 'appeal_decided'"
NEW_CASE_CHECKS = {
    "state_known": f"state IN ({_S}, {_A}, 'not_responsible', 'withdrawn')",
    "notified_has_deadline": f"NOT (state IN ({_N}, {_A}, 'not_responsible')) OR "
                             "(notified_at IS NOT NULL AND response_due_at IS NOT NULL)",
    "decided_has_finding": f"NOT (state IN ('sanctioning', 'decided', 'not_responsible', 'issued', {_A})) OR "
                           "(finding IS NOT NULL AND reasons IS NOT NULL AND decided_at IS NOT NULL)",
    "sanctioned_has_level": f"NOT (state IN ('decided', 'issued', {_A})) OR "
                            "(finding = 'responsible' AND sanction_level IS NOT NULL)",
    "issued_has_time": f"(state IN ('issued', {_A})) = (issued_at IS NOT NULL)",
    "issued_has_appeal_window": "issued_at IS NULL OR appeal_due_at IS NOT NULL",
    "final_has_time": "(state IN ('closed', 'appeal_decided', 'not_responsible')) = (final_at IS NOT NULL)",
    "final_sanction_not_higher": "final_sanction_level IS NULL OR (final_at IS NOT NULL AND sanction_level IS NOT NULL "
                                 "AND final_sanction_level <= sanction_level)",
    "closed_keeps_sanction": "state != 'closed' OR final_sanction_level = sanction_level",
}
OLD_CASE_CHECKS = {
    "state_known": f"state IN ({_S}, 'not_responsible', 'withdrawn')",
    "notified_has_deadline": f"NOT (state IN ({_N}, 'not_responsible')) OR "
                             "(notified_at IS NOT NULL AND response_due_at IS NOT NULL)",
    "decided_has_finding": "NOT (state IN ('sanctioning', 'decided', 'issued', 'not_responsible')) OR "
                           "(finding IS NOT NULL AND reasons IS NOT NULL AND decided_at IS NOT NULL)",
    "sanctioned_has_level": "NOT (state IN ('decided', 'issued')) OR "
                            "(finding = 'responsible' AND sanction_level IS NOT NULL)",
    "issued_has_time": "(state = 'issued') = (issued_at IS NOT NULL)",
}
NEW_VOTE_CHECKS = {
    "question_known": "question IN ('finding', 'sanction', 'appeal')",
    "vote_matches_question": "(question = 'finding' AND vote IN ('responsible', 'not_responsible', 'abstain') AND "
                             "sanction_level IS NULL) OR (question = 'sanction' AND vote = 'level' AND sanction_level "
                             "BETWEEN 0 AND 3) OR (question = 'appeal' AND ((vote IN ('upheld', 'overturned', "
                             "'abstain') AND sanction_level IS NULL) OR (vote = 'modified' AND sanction_level "
                             "BETWEEN 0 AND 3)))",
}
OLD_VOTE_CHECKS = {
    "question_known": "question IN ('finding', 'sanction')",
    "vote_matches_question": "(question = 'finding' AND vote IN ('responsible', 'not_responsible', 'abstain') AND "
                             "sanction_level IS NULL) OR (question = 'sanction' AND vote = 'level' AND sanction_level "
                             "BETWEEN 0 AND 3)",
}


def _replace_checks(case_checks: dict[str, str], vote_checks: dict[str, str]) -> None:
    """Drop the named CHECK constraints that exist and create the given ones (batch mode: SQLite
    rebuilds the table)."""
    bind = op.get_bind()
    for table, checks in (("integrity_case", case_checks), ("case_vote", vote_checks)):
        existing = {c["name"] for c in sa.inspect(bind).get_check_constraints(table)}
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in checks:
                if f"ck_{table}_{name}" in existing:
                    batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            for name, sql in checks.items():
                batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), sql)


def upgrade() -> None:
    op.create_table('grade_adjustment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('points', sa.Numeric(precision=8, scale=2, asdecimal=False), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=60), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'deduction') = (points IS NOT NULL AND points > 0)", name=op.f('ck_grade_adjustment_deduction_has_points')),
    sa.CheckConstraint("kind IN ('deduction', 'zero')", name=op.f('ck_grade_adjustment_kind_known')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], name=op.f('fk_grade_adjustment_assignment_id_assignment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['user_account.id'], name=op.f('fk_grade_adjustment_student_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grade_adjustment')),
    sa.UniqueConstraint('assignment_id', 'student_id', 'source', name=op.f('uq_grade_adjustment_assignment_id_student_id_source'))
    )
    with op.batch_alter_table('grade_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grade_adjustment_assignment_id'), ['assignment_id'], unique=False)

    op.create_table('case_appeal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('grounds', sa.Text(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('original_sanction_level', sa.Integer(), nullable=False),
    sa.Column('presiding_user_id', sa.Integer(), nullable=True),
    sa.Column('convened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=True),
    sa.Column('outcome_reasons', sa.Text(), nullable=True),
    sa.Column('new_sanction_level', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(outcome = 'modified') = (new_sanction_level IS NOT NULL)", name=op.f('ck_case_appeal_modified_has_level')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('upheld', 'modified', 'overturned')", name=op.f('ck_case_appeal_outcome_known')),
    sa.CheckConstraint('(outcome IS NULL) = (decided_at IS NULL)', name=op.f('ck_case_appeal_outcome_has_time')),
    sa.CheckConstraint('(presiding_user_id IS NULL) = (convened_at IS NULL)', name=op.f('ck_case_appeal_convened_has_presiding')),
    sa.CheckConstraint('new_sanction_level IS NULL OR (new_sanction_level >= 0 AND new_sanction_level < original_sanction_level)', name=op.f('ck_case_appeal_sanction_never_increases')),
    sa.CheckConstraint('outcome IS NULL OR outcome_reasons IS NOT NULL', name=op.f('ck_case_appeal_outcome_has_reasons')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_appeal_case_id_integrity_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['presiding_user_id'], ['user_account.id'], name=op.f('fk_case_appeal_presiding_user_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_appeal')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_appeal_case_id'))
    )
    op.create_table('case_effect',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lms_status', sa.String(length=10), nullable=True),
    sa.CheckConstraint("kind IN ('warning', 'reopen', 'deduction', 'zero_grade', 'referral')", name=op.f('ck_case_effect_kind_known')),
    sa.CheckConstraint("lms_status IS NULL OR lms_status IN ('pending', 'posted', 'failed', 'off')", name=op.f('ck_case_effect_lms_status_known')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_case_effect_case_id_integrity_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_effect')),
    sa.UniqueConstraint('case_id', 'kind', name=op.f('uq_case_effect_case_id_kind'))
    )
    with op.batch_alter_table('case_effect', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_effect_case_id'), ['case_id'], unique=False)

    op.create_table('decision_document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('docx_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('decision', 'appeal')", name=op.f('ck_decision_document_kind_known')),
    sa.CheckConstraint("language IN ('kk', 'ru', 'en')", name=op.f('ck_decision_document_language_known')),
    sa.ForeignKeyConstraint(['case_id'], ['integrity_case.id'], name=op.f('fk_decision_document_case_id_integrity_case'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_document')),
    sa.UniqueConstraint('case_id', 'kind', name=op.f('uq_decision_document_case_id_kind'))
    )
    with op.batch_alter_table('decision_document', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_document_case_id'), ['case_id'], unique=False)

    op.create_table('appeal_panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appeal_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['case_appeal.id'], name=op.f('fk_appeal_panel_member_appeal_id_case_appeal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_appeal_panel_member_user_id_user_account'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_panel_member')),
    sa.UniqueConstraint('appeal_id', 'user_id', name=op.f('uq_appeal_panel_member_appeal_id_user_id'))
    )
    with op.batch_alter_table('appeal_panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appeal_panel_member_appeal_id'), ['appeal_id'], unique=False)

    with op.batch_alter_table('case_statement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=10), server_default='response', nullable=False))

    with op.batch_alter_table('integrity_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appeal_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('final_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('final_sanction_level', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_integrity_case_appeal_due_at'), ['appeal_due_at'], unique=False)

    # a case found not responsible was final when it was decided
    op.execute("UPDATE integrity_case SET final_at = decided_at WHERE state = 'not_responsible'")
    _replace_checks(NEW_CASE_CHECKS, NEW_VOTE_CHECKS)


def downgrade() -> None:
    _replace_checks(OLD_CASE_CHECKS, OLD_VOTE_CHECKS)
    with op.batch_alter_table('integrity_case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integrity_case_appeal_due_at'))
        batch_op.drop_column('final_sanction_level')
        batch_op.drop_column('final_at')
        batch_op.drop_column('appeal_due_at')

    with op.batch_alter_table('case_statement', schema=None) as batch_op:
        batch_op.drop_column('stage')

    with op.batch_alter_table('appeal_panel_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appeal_panel_member_appeal_id'))

    op.drop_table('appeal_panel_member')
    with op.batch_alter_table('decision_document', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_document_case_id'))

    op.drop_table('decision_document')
    with op.batch_alter_table('case_effect', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_effect_case_id'))

    op.drop_table('case_effect')
    op.drop_table('case_appeal')
    with op.batch_alter_table('grade_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grade_adjustment_assignment_id'))

    op.drop_table('grade_adjustment')
