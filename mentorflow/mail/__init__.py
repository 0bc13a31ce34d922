"""Mail delivery: templates, the outbox (send once per key), senders, calendar invites, tokens."""
