"""Every error mentorflow raises on purpose, as one tree.

    MentorflowError
    ├── SpecError                 a program spec cannot be used
    │   └── SpecInvalidError      carries every located problem (file:line:col: $.path: message)
    ├── StoreError                the database is unreachable or in an unexpected state
    │   ├── StoreUnavailableError the database is locked by another writer or cannot be reached
    │   └── UnknownMemberError    no such member in the program (erasure by id or address)
    ├── MailError                 a mail could not be rendered or delivered
    │   ├── TemplateError         a template is missing or does not render
    │   ├── TemporaryMailError    4xx, dropped connection: retry later
    │   │   └── SmtpUnreachableError  no connection to the server: mail waits for the next run
    │   └── PermanentMailError    5xx for the recipient: recorded as a bounce, never retried
    ├── TokenError                a link token is unknown, forged or expired
    ├── IntakeError               the form source cannot be read as a whole
    │   ├── HeaderMismatchError   the form's columns do not match the spec's mapping
    │   └── SourceUnavailableError  the sheet answered 429 or 5xx: worth retrying later
    └── MatchingError             no matching can be computed from the pool
        └── ApprovalError         an organizer's decision names unknown pairs or members

Messages never contain an e-mail address or a member's name: they may reach Prefect logs.
"""

from __future__ import annotations


class MentorflowError(Exception):
    """Base of all errors mentorflow raises on purpose."""


class SpecError(MentorflowError):
    """A program spec cannot be used."""


class SpecInvalidError(SpecError):
    """A spec has problems; `problems` lists every one, located."""

    def __init__(self, problems: list) -> None:  # list[Problem]; typed loosely to avoid a cycle
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the program spec:\n{lines}")


class StoreError(MentorflowError):
    """The database is unreachable or in an unexpected state."""


class StoreUnavailableError(StoreError):
    """The database is locked past the busy timeout, or its server does not answer: retry later."""


class UnknownMemberError(StoreError):
    """No member with this id (or address) in the program."""


class MailError(MentorflowError):
    """A mail could not be rendered or delivered."""


class TemplateError(MailError):
    """A template is missing or does not render."""


class TemporaryMailError(MailError):
    """A temporary failure (4xx, dropped connection, server down): try again later."""


class SmtpUnreachableError(TemporaryMailError):
    """The SMTP server refused the connection or did not answer: retrying at once is pointless."""


class PermanentMailError(MailError):
    """A permanent failure for a recipient (5xx): a bounce, never retried."""


class TokenError(MentorflowError):
    """A link token is unknown, forged or expired."""


class IntakeError(MentorflowError):
    """The form source cannot be read as a whole."""


class HeaderMismatchError(IntakeError):
    """The form's header row does not match the spec's column mapping."""


class SourceUnavailableError(IntakeError):
    """The form source is temporarily unavailable (rate limit, server error): retry later."""


class MatchingError(MentorflowError):
    """No matching can be computed from the pool."""


class ApprovalError(MatchingError):
    """An organizer's decision names pairs or members that are not in the proposal."""
