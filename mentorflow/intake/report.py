"""The intake report as the organizer reads it: counts, and each quarantined row with reasons."""

from __future__ import annotations

import re

from mentorflow.intake.mails import QueuedMails
from mentorflow.intake.service import IntakeReport


def artifact_key(program_id: str) -> str:
    """A Prefect artifact key (lower-case letters, digits, dashes) for this program's intake."""
    return "intake-" + re.sub(r"[^a-z0-9-]+", "-", program_id.lower()).strip("-")


def summary_markdown(report: IntakeReport, mails: QueuedMails | None = None) -> str:
    """Counts first, so the identity accepted + quarantined + not consented + duplicates is seen."""
    lines = [
        f"**Intake {report.source}, cycle {report.cycle_label}**",
        "",
        f"- rows read: {report.rows_read} (new this run: {report.new_rows}{_lines(report)})",
        f"- accepted: {report.accepted}",
        f"- quarantined: {report.quarantined}",
        f"- not consented: {report.not_consented}",
        f"- duplicates (earlier submissions of the same address): {report.duplicates}",
        f"- newly enrolled this run: {len(report.newly_enrolled)}",
    ]
    if mails is not None:
        lines.append(
            f"- mails queued: welcome {mails.welcome}, not enrolled {mails.not_enrolled}, "
            f"fix sign-up {mails.fix_signup}"
        )
    if report.unmapped_columns:
        lines.append("- columns not mapped (ignored): " + ", ".join(report.unmapped_columns))
    return "\n".join(lines)


def _lines(report: IntakeReport) -> str:
    """The file's physical lines, when they differ from header + rows (answers over lines)."""
    lines = report.file_lines
    if lines is None or lines == report.rows_read + 1:
        return ""
    return f"; the file has {lines} lines: blank lines or answers that span several lines"


def quarantine_table(report: IntakeReport) -> list[dict[str, str | int]]:
    """One line per quarantined row: sheet row number, member id if known, every reason."""
    return [
        {
            "sheet row": row.row_number,
            "member": row.member_id or "",
            "reasons": "; ".join(row.reasons),
        }
        for row in report.quarantine
    ]
