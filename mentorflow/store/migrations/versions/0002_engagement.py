"""engagement: check-ins, pauses and leaves, rematch requests, skipped items, tick records

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.String(length=24), nullable=False),
        sa.Column("member_id", sa.String(length=20), nullable=False),
        sa.Column("occurrence", sa.String(length=100), nullable=False),
        sa.Column("answer", sa.String(length=20), nullable=False),
        sa.Column("answered_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_checkins_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name=op.f("fk_checkins_match_id_matches")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_checkins_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.UniqueConstraint("match_id", "member_id", "occurrence", name="uq_checkins_once"),
    )
    op.create_table(
        "member_pauses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_member_pauses_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_pauses_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_pauses")),
    )
    with op.batch_alter_table("member_pauses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_pauses_cycle_member", ["cycle_id", "member_id"], unique=False
        )
    op.create_table(
        "rematch_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=20), nullable=False),
        sa.Column("from_match_id", sa.String(length=24), nullable=False),
        sa.Column("cause", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_rematch_requests_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_rematch_requests_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["from_match_id"],
            ["matches.id"],
            name=op.f("fk_rematch_requests_from_match_id_matches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rematch_requests")),
        sa.UniqueConstraint("member_id", "from_match_id", name="uq_rematch_requests_once"),
    )
    op.create_table(
        "engagement_skips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("program_id", sa.String(length=100), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("tick_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_engagement_skips_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engagement_skips")),
        sa.UniqueConstraint("key", name=op.f("uq_engagement_skips_key")),
    )
    op.create_table(
        "ticks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("program_id", sa.String(length=100), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycles.id"], name=op.f("fk_ticks_cycle_id_cycles")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticks")),
    )
    with op.batch_alter_table("ticks", schema=None) as batch_op:
        batch_op.create_index("ix_ticks_program_as_of", ["program_id", "as_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ticks", schema=None) as batch_op:
        batch_op.drop_index("ix_ticks_program_as_of")
    op.drop_table("ticks")
    op.drop_table("engagement_skips")
    op.drop_table("rematch_requests")
    with op.batch_alter_table("member_pauses", schema=None) as batch_op:
        batch_op.drop_index("ix_member_pauses_cycle_member")
    op.drop_table("member_pauses")
    op.drop_table("checkins")
