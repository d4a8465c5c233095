"""evidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('integration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration')),
    sa.UniqueConstraint('name', name=op.f('uq_integration_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_integration_token_hash'))
    )
    op.create_table('course_policy',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('ta_may_flag', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_course_policy_course_id_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('course_id', name=op.f('pk_course_policy'))
    )
    op.create_table('attribution_fix_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_attribution_fix_request_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribution_fix_request'))
    )
    with op.batch_alter_table('attribution_fix_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attribution_fix_request_submission_id'), ['submission_id'], unique=False)

    op.create_table('draft_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.String(length=200), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_draft_request_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_request'))
    )
    with op.batch_alter_table('draft_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_request_submission_id'), ['submission_id'], unique=False)

    op.create_table('flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_by_user', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('referred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_note', sa.Text(), nullable=True),
    sa.CheckConstraint("(state = 'referred') = (referred_at IS NOT NULL)", name=op.f('ck_flag_referred_has_time')),
    sa.CheckConstraint("state IN ('open', 'referred', 'closed_informal', 'withdrawn')", name=op.f('ck_flag_state_known')),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], name=op.f('fk_flag_course_id_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_user'], ['user_account.id'], name=op.f('fk_flag_created_by_user_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_flag_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag'))
    )
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_submission_id'), ['submission_id'], unique=False)

    op.create_table('oral_defence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=True),
    sa.Column('online_url', sa.String(length=2000), nullable=True),
    sa.Column('scheduled_by', sa.String(length=200), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('questions', sa.Text(), nullable=True),
    sa.Column('answers_summary', sa.Text(), nullable=True),
    sa.Column('conclusion', sa.String(length=20), nullable=True),
    sa.Column('conclusion_text', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=200), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("conclusion IS NULL OR conclusion IN ('confirmed', 'not_confirmed', 'inconclusive')", name=op.f('ck_oral_defence_conclusion_known')),
    sa.CheckConstraint('(recorded_at IS NULL AND conclusion IS NULL) OR (recorded_at IS NOT NULL AND conclusion IS NOT NULL AND questions IS NOT NULL AND answers_summary IS NOT NULL)', name=op.f('ck_oral_defence_record_complete')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_oral_defence_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oral_defence'))
    )
    with op.batch_alter_table('oral_defence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oral_defence_submission_id'), ['submission_id'], unique=False)

    op.create_table('signal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('vendor', sa.String(length=100), nullable=False),
    sa.Column('product', sa.String(length=100), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.Column('report_name', sa.String(length=255), nullable=True),
    sa.Column('report_url', sa.String(length=2000), nullable=True),
    sa.Column('matched_sources', sa.Text(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=True),
    sa.Column('vendor_scan_id', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('detector', 'originality')", name=op.f('ck_signal_kind_known')),
    sa.CheckConstraint("source IN ('manual', 'upload', 'api')", name=op.f('ck_signal_source_known')),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_signal_score_is_percent')),
    sa.ForeignKeyConstraint(['integration_id'], ['integration.id'], name=op.f('fk_signal_integration_id_integration'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_signal_submission_id_submission'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signal')),
    sa.UniqueConstraint('integration_id', 'vendor_scan_id', name=op.f('uq_signal_integration_id_vendor_scan_id'))
    )
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signal_submission_id'), ['submission_id'], unique=False)

    op.create_table('draft_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['draft_request.id'], name=op.f('fk_draft_upload_request_id_draft_request'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_draft_upload'))
    )
    with op.batch_alter_table('draft_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_draft_upload_request_id'), ['request_id'], unique=False)

    op.create_table('flag_ground',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('ground', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.CheckConstraint("ground IN ('level_mismatch', 'missing_drafts', 'failed_defence', 'matching_sources', 'detector_signal', 'other')", name=op.f('ck_flag_ground_ground_known')),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_flag_ground_flag_id_flag'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_ground'))
    )
    with op.batch_alter_table('flag_ground', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_ground_flag_id'), ['flag_id'], unique=False)

    op.create_table('evidence_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ground_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('is_detector', sa.Boolean(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('signal_id', sa.Integer(), nullable=True),
    sa.Column('defence_id', sa.Integer(), nullable=True),
    sa.Column('draft_request_id', sa.Integer(), nullable=True),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'file' AND sha256 IS NOT NULL AND signal_id IS NULL AND defence_id IS NULL AND draft_request_id IS NULL) OR (kind = 'signal' AND signal_id IS NOT NULL AND sha256 IS NULL AND defence_id IS NULL AND draft_request_id IS NULL) OR (kind = 'defence' AND defence_id IS NOT NULL AND sha256 IS NULL AND signal_id IS NULL AND draft_request_id IS NULL) OR (kind = 'draft_request' AND draft_request_id IS NOT NULL AND sha256 IS NULL AND signal_id IS NULL AND defence_id IS NULL) OR (kind = 'note' AND sha256 IS NULL AND signal_id IS NULL AND defence_id IS NULL AND draft_request_id IS NULL)", name=op.f('ck_evidence_item_points_at_one_thing')),
    sa.CheckConstraint("NOT is_detector OR kind = 'signal'", name=op.f('ck_evidence_item_detector_is_a_signal')),
    sa.CheckConstraint("kind IN ('file', 'signal', 'defence', 'draft_request', 'note')", name=op.f('ck_evidence_item_kind_known')),
    sa.ForeignKeyConstraint(['defence_id'], ['oral_defence.id'], name=op.f('fk_evidence_item_defence_id_oral_defence'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['draft_request_id'], ['draft_request.id'], name=op.f('fk_evidence_item_draft_request_id_draft_request'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['ground_id'], ['flag_ground.id'], name=op.f('fk_evidence_item_ground_id_flag_ground'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['signal_id'], ['signal.id'], name=op.f('fk_evidence_item_signal_id_signal'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_item'))
    )
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_item_ground_id'), ['ground_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('evidence_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_item_ground_id'))

    op.drop_table('evidence_item')
    with op.batch_alter_table('flag_ground', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_ground_flag_id'))

    op.drop_table('flag_ground')
    with op.batch_alter_table('draft_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_upload_request_id'))

    op.drop_table('draft_upload')
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signal_submission_id'))

    op.drop_table('signal')
    with op.batch_alter_table('oral_defence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oral_defence_submission_id'))

    op.drop_table('oral_defence')
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_submission_id'))
        batch_op.drop_index(batch_op.f('ix_flag_course_id'))

    op.drop_table('flag')
    with op.batch_alter_table('draft_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_draft_request_submission_id'))

    op.drop_table('draft_request')
    with op.batch_alter_table('attribution_fix_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attribution_fix_request_submission_id'))

    op.drop_table('attribution_fix_request')
    op.drop_table('course_policy')
    op.drop_table('integration')
