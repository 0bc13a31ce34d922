"""Intake: form rows (CSV or Google Sheet) become members of the program's current cycle.

Every part reads the typed `ProgramSpec` (mentorflow.spec.model) directly; `fields` derives what
the spec implies (field kinds, required answers, the peer role).
`sources` reads, `header` checks the columns, `rows` maps and validates one row, `service`
stores a run's rows in bulk, `mails` queues what intake owes people, `screening` handles the
organizer's approval, `report` shapes the result for the Prefect UI.
"""
