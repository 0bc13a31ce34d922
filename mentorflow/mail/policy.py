"""Per-template mail policy: what an unsubscribed member still gets, what is resent when unsure.

Both lists name built-in templates (`mentorflow.spec.model.BUILTIN_TEMPLATES`); a spec's
`templates:` override replaces a template's text, not its policy.
"""

from __future__ import annotations

# Mail an unsubscribed member still gets: answers to their own sign-up, and the start and end of
# a pairing they are part of (their partner relies on it). Everything else is optional.
ESSENTIAL_TEMPLATES = frozenset(
    {"welcome", "not_enrolled", "fix_signup", "introduction", "closure"}
)

# An `unconfirmed` mail (handed over, but no reply from the server: a crash or a connection lost
# right around the final ".") went out or was lost; nobody can tell which. For these templates
# it is sent once more, automatically, with the same Message-ID: a lost introduction leaves two
# people each waiting for the other, which is worse than a copy that a client ignoring
# Message-IDs shows twice. Every other template stays `unconfirmed` (listed by
# `mentorflow outbox SPEC --unconfirmed`, resent only on purpose): a second welcome, reminder or
# survey nudge annoys, a lost one costs little. At most one automatic copy per mail.
RESEND_UNCONFIRMED = frozenset({"introduction"})
MAX_AUTO_RESENDS = 1
