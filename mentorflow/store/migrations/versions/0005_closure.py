"""closure: mail attachments (mentor certificates) as file references in the outbox

Revision ID: 0005_closure
Revises: 0004_outbox_claim
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_closure"
down_revision = "0004_outbox_claim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("attachments")
