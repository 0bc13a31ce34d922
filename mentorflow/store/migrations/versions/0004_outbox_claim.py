"""outbox: `claimed` rows remember the claim's durability epoch (batched delivery claims)

Revision ID: 0004_outbox_claim
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox_claim"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claim", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("claim")
