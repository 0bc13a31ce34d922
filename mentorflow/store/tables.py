"""The store's tables: one schema for SQLite and PostgreSQL, changed only through migrations.

Identity model:
- a *program* is one spec (`program.id`); it lives across many cycles;
- a *member* is one person within a program (unique normalised email per program); the member id is
  an opaque random string (``m_`` + 12 base32 chars) and is the only thing about a person that
  may appear in Prefect logs, parameters or artifacts;
- an *enrolment* is a member's participation in one cycle (role, answers, status);
- a *match* is a pair or group within one cycle and round; ``match_members`` lists who is in it;
- the *outbox* holds every mail, keyed by an idempotency key, before and after it is sent; mails
  rendered together for many members share their text in ``mail_stamps``;
- ``intake_rows`` records every form row ever read with its outcome, so reruns are incremental and
  accepted + quarantined + not_consented + duplicate == rows read holds per run;
- ``events`` is the append-only log (earlier answers, approvals, rematches, erasures...).
- ``reviews`` keeps what a waiting flow run showed the organizer (applicants, a proposal) until it
  is decided, so a run started again after a suspension decides on exactly that.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

TS = DateTime(timezone=True)

programs = Table(
    "programs",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", Text, nullable=False),
    Column("spec_path", Text),
    Column("spec_sha256", String(64)),
    Column("created_at", TS, nullable=False),
)

cycles = Table(
    "cycles",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", String(100), ForeignKey("programs.id"), nullable=False),
    Column("label", String(100), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    # intake | matching | active | closed
    Column("status", String(20), nullable=False, default="intake"),
    Column("created_at", TS, nullable=False),
    Column("closed_at", TS),
    UniqueConstraint("program_id", "label", name="uq_cycles_program_label"),
)

members = Table(
    "members",
    metadata,
    Column("id", String(20), primary_key=True),
    Column("program_id", String(100), ForeignKey("programs.id"), nullable=False),
    Column("email", Text),  # normalised (lower-case); NULL once erased
    Column("name", Text),
    Column("language", String(5)),
    Column("timezone", String(64)),
    Column("consent_at", TS),
    Column("consent_version", String(100)),
    Column("unsubscribed_at", TS),
    Column("bounced_at", TS),
    Column("bounce_reason", Text),
    Column("erased_at", TS),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("program_id", "email", name="uq_members_program_email"),
)

enrolments = Table(
    "enrolments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    # mentor | mentee | both | peer
    Column("role", String(10), nullable=False),
    # enrolled | not_enrolled | pending_approval | declined | withdrawn | erased
    Column("status", String(20), nullable=False),
    Column("answers", JSON, nullable=False),  # canonical member fields from the form
    Column("capacity", Integer, nullable=False, default=1),
    Column("priority", Integer, nullable=False, default=0),  # waitlisted last cycle -> higher
    Column("submitted_at", TS),
    Column("source_row", Integer),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint("cycle_id", "member_id", name="uq_enrolments_cycle_member"),
)

intake_rows = Table(
    "intake_rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("source", Text, nullable=False),  # "csv:<path>" or "sheet:<key>/<worksheet>"
    Column("row_number", Integer, nullable=False),  # as the organizer sees it in the sheet
    Column("row_hash", String(64), nullable=False),  # sha256 of the raw row's cells
    # accepted | quarantined | not_consented | duplicate | superseded
    Column("outcome", String(20), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id")),
    Column("reasons", JSON, nullable=False),  # list of human-readable reasons (quarantine)
    Column("raw", JSON),  # the row as read, kept for quarantine fixing; erased with the member
    Column("fix_mail_sent", Boolean, nullable=False, default=False),
    Column("run_id", String(64)),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("cycle_id", "source", "row_hash", name="uq_intake_rows_cycle_source_hash"),
)

matches = Table(
    "matches",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("round", Integer, nullable=False, default=1),
    # proposed | approved | active | ended | dropped
    Column("status", String(20), nullable=False),
    Column("score", Float, nullable=False),
    Column("explanation", JSON, nullable=False),  # list of {criterion, score, weight, detail}
    Column("created_at", TS, nullable=False),
    Column("approved_at", TS),
    Column("ended_at", TS),
    Column("end_reason", Text),  # "rematch requested by m_..." / "cycle closed"
)

match_members = Table(
    "match_members",
    metadata,
    Column("match_id", String(24), ForeignKey("matches.id"), primary_key=True),
    Column("member_id", String(20), ForeignKey("members.id"), primary_key=True),
    Column("side", String(10), nullable=False),  # mentor | mentee | peer
)

# 0007: the text and HTML that many mails share (a batch's welcome mails), each placeholder a
# `str.format` field; only values every mail of the batch has in common, no member's own
mail_stamps = Table(
    "mail_stamps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text_pattern", Text, nullable=False),
    Column("html_pattern", Text, nullable=False),
    Column("created_at", TS, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # "<program>:<cycle label>:<member id>:<purpose>:<occurrence>": unique forever
    Column("key", String(300), nullable=False, unique=True),
    Column("program_id", String(100), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycles.id")),
    Column("member_id", String(20), ForeignKey("members.id")),
    Column("purpose", String(40), nullable=False),
    Column("template", String(80), nullable=False),
    Column("language", String(5), nullable=False),
    Column("to_addr", Text),  # NULL once erased
    Column("to_name", Text),
    Column("subject", Text),
    Column("text_body", Text),
    Column("html_body", Text),
    # 0007: or, for a mail rendered for several members at once, the shared text and HTML
    # (`mail_stamps`) and this mail's values for their placeholders (mail/bodies.py reads both)
    Column("stamp_id", Integer, ForeignKey("mail_stamps.id")),
    Column("fills", JSON(none_as_null=True)),
    Column("ics", Text),
    # 0004: files sent with the mail (certificates), paths relative to MENTORFLOW_HOME; the
    # row names the file, the file holds the bytes (the outbox stays small, erasure deletes both)
    Column("attachments", JSON),
    Column("headers", JSON, nullable=False),
    # pending | claimed | sending | sent | unconfirmed | failed | bounced | suppressed | as_file
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),  # never contains an address
    Column("message_id", String(200)),
    Column("not_before", TS),  # rate limiting spreads a large program over days
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("sent_at", TS),
    # while `claimed`: the epoch of the claim ("durable", or "boot:<kernel boot id>", see
    # mail/outbox.py), which tells a later sender whether the claim's row was surely not sent
    Column("claim", String(60)),
    Index("ix_outbox_status_not_before", "status", "not_before"),
    Index("ix_outbox_stamp_id", "stamp_id"),
)

survey_responses = Table(
    "survey_responses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    Column("survey_id", String(80), nullable=False),
    Column("occurrence", String(40), nullable=False, default="1"),
    Column("answers", JSON, nullable=False),
    Column("channel", String(20), nullable=False),  # web | google_form | intake
    Column("submitted_at", TS, nullable=False),
    Column("updated_at", TS),  # 0003: a second submission updates the answer
    Column("match_id", String(24)),  # 0003: the pair the answer is about (fit check)
    UniqueConstraint(
        "cycle_id", "member_id", "survey_id", "occurrence", name="uq_survey_responses_once"
    ),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", String(100), nullable=False),
    Column("cycle_id", Integer),
    Column("member_id", String(20)),
    Column("kind", String(60), nullable=False),
    Column("data", JSON, nullable=False),
    Column("at", TS, nullable=False),
    Index("ix_events_program_kind", "program_id", "kind"),
)

# --- engagement (issue 9): check-ins, pauses and leaves, rematch requests, tick records --------

checkins = Table(
    "checkins",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("match_id", String(24), ForeignKey("matches.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    Column("occurrence", String(100), nullable=False),  # the check-in milestone's id
    Column("answer", String(20), nullable=False),  # met | not_yet | cannot
    Column("answered_at", TS, nullable=False),
    UniqueConstraint("match_id", "member_id", "occurrence", name="uq_checkins_once"),
)

member_pauses = Table(
    "member_pauses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    Column("kind", String(10), nullable=False),  # pause | leave
    Column("starts_at", TS, nullable=False),
    Column("ends_at", TS),  # pause: when mail resumes; leave: NULL (for good)
    Column("reason", String(40)),  # a category from the page, never free text
    Column("created_at", TS, nullable=False),
    Index("ix_member_pauses_cycle_member", "cycle_id", "member_id"),
)

rematch_requests = Table(
    "rematch_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    Column("from_match_id", String(24), ForeignKey("matches.id"), nullable=False),
    Column("cause", String(20), nullable=False),  # cannot (check-in answer) | partner_left | erased
    Column("status", String(20), nullable=False),  # open | proposed | matched | unmatched
    Column("created_at", TS, nullable=False),
    Column("resolved_at", TS),
    UniqueConstraint("member_id", "from_match_id", name="uq_rematch_requests_once"),
)

engagement_skips = Table(
    "engagement_skips",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # the outbox key the mail would have had: a skipped item is never reconsidered
    Column("key", String(300), nullable=False, unique=True),
    Column("program_id", String(100), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycles.id")),
    Column("member_id", String(20)),
    Column("reason", String(40), nullable=False),  # stale | paused | left | ended | unsubscribed
    Column("tick_at", TS, nullable=False),
)

ticks = Table(
    "ticks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", String(100), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycles.id")),
    Column("as_of", TS, nullable=False),
    Column("started_at", TS, nullable=False),
    Column("finished_at", TS),  # NULL: the tick stopped halfway (the next one resumes)
    Column("queued", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("summary", JSON, nullable=False),  # counts by kind and member ids only
    Index("ix_ticks_program_as_of", "program_id", "as_of"),
)

# --- surveys (issue 10): stories with their own consent, quarantined Google Form rows ----------

survey_stories = Table(
    "survey_stories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("member_id", String(20), ForeignKey("members.id"), nullable=False),
    Column("survey_id", String(80), nullable=False),
    Column("occurrence", String(100), nullable=False),
    Column("text", Text, nullable=False),
    # the member's own consent to share the story; only shared stories reach reports
    Column("share", Boolean, nullable=False, default=False),
    Column("consent_at", TS),
    Column("consent_text_version", String(100)),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    UniqueConstraint(
        "cycle_id", "member_id", "survey_id", "occurrence", name="uq_survey_stories_once"
    ),
)

survey_quarantine = Table(
    "survey_quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("survey_id", String(80), nullable=False),
    Column("source", Text, nullable=False),  # "sheet:<key>/<worksheet>"
    Column("row_number", Integer, nullable=False),  # as the organizer sees it in the sheet
    Column("row_hash", String(64), nullable=False),
    Column("reason", Text, nullable=False),  # never contains an address or the token
    Column("created_at", TS, nullable=False),
    UniqueConstraint("cycle_id", "source", "row_hash", name="uq_survey_quarantine_row"),
)

# --- reviews (issue 12): what a pause showed the organizer -------------------------------------

reviews = Table(
    "reviews",
    metadata,
    Column("id", String(24), primary_key=True),  # "r_" + 12 characters: in pause keys
    Column("program_id", String(100), nullable=False),
    Column("cycle_id", Integer, ForeignKey("cycles.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # screening | proposal
    Column("round", Integer, nullable=False, default=1),
    Column("flow_run", String(64), nullable=False),  # the run that showed it and waits
    Column("shown", JSON, nullable=False),  # member and match ids, figures: never a name
    Column("created_at", TS, nullable=False),
    Column("closed_at", TS),
    Column("closed_as", String(20)),  # decided | superseded
    Index("ix_reviews_cycle_kind", "cycle_id", "kind", "round"),
)
