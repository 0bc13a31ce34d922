"""mail_stamps: the text and HTML that a batch's mails share, stored once (issue 8)

Revision ID: 0007_mail_stamps
Revises: 0006_reviews
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_mail_stamps"
down_revision = "0006_reviews"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_stamps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("text_pattern", sa.Text(), nullable=False),
        sa.Column("html_pattern", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_stamps")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stamp_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("fills", sa.JSON(none_as_null=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_stamp_id_mail_stamps"), "mail_stamps", ["stamp_id"], ["id"]
        )
        batch_op.create_index("ix_outbox_stamp_id", ["stamp_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_stamp_id")
        batch_op.drop_constraint(batch_op.f("fk_outbox_stamp_id_mail_stamps"), type_="foreignkey")
        batch_op.drop_column("fills")
        batch_op.drop_column("stamp_id")
    op.drop_table("mail_stamps")
