"""The member store: programs, cycles, members, matches, outbox, responses and events."""
