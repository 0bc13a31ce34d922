"""reviews: what a paused or suspended flow run showed the organizer (issue 12)

Revision ID: 0006_reviews
Revises: 0005_closure
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_reviews"
down_revision = "0005_closure"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=24), nullable=False),
        sa.Column("program_id", sa.String(length=100), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("flow_run", sa.String(length=64), nullable=False),
        sa.Column("shown", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("closed_as", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_reviews_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index("ix_reviews_cycle_kind", "reviews", ["cycle_id", "kind", "round"])


def downgrade() -> None:
    op.drop_index("ix_reviews_cycle_kind", table_name="reviews")
    op.drop_table("reviews")
