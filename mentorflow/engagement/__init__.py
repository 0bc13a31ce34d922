"""Engagement after the introductions: the tick's schedule, check-ins, pauses, rematches, digest.

No Prefect here: flows/tick.py wires these functions. Modules:
- window: member-local send windows and quiet days (zoneinfo, across daylight-saving changes);
- state: what the store knows (live pairs, pauses, answers, keys already handled);
- schedule: what is due for every pair and member at `as_of` (pure);
- links: signed answer links (check-in, pause, leave, rematch), one salt per purpose;
- mailing: the one adapter to the outbox, and the variables each template needs;
- answers: recording a check-in answer, a pause, a leave, a rematch request;
- slot: a first-meeting slot inside both members' availability, as an .ics request;
- digest: the organizer digest and the tick's artifact text;
- run: one tick end to end (plan, queue in batches, skip what is stale, record the tick).
"""
