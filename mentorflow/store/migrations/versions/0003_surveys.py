"""surveys: stories with their own consent, quarantined Google Form rows, response updates

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", TS, nullable=True))
        batch_op.add_column(sa.Column("match_id", sa.String(length=24), nullable=True))
    op.create_table(
        "survey_stories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=20), nullable=False),
        sa.Column("survey_id", sa.String(length=80), nullable=False),
        sa.Column("occurrence", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("share", sa.Boolean(), nullable=False),
        sa.Column("consent_at", TS, nullable=True),
        sa.Column("consent_text_version", sa.String(length=100), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_survey_stories_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_survey_stories_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_stories")),
        sa.UniqueConstraint(
            "cycle_id", "member_id", "survey_id", "occurrence", name="uq_survey_stories_once"
        ),
    )
    op.create_table(
        "survey_quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.String(length=80), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_survey_quarantine_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_quarantine")),
        sa.UniqueConstraint("cycle_id", "source", "row_hash", name="uq_survey_quarantine_row"),
    )


def downgrade() -> None:
    op.drop_table("survey_quarantine")
    op.drop_table("survey_stories")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_column("match_id")
        batch_op.drop_column("updated_at")
