"""Erasure reaches the reports: a member's shared story is cut from every report that quotes it.

Each report folder keeps quotes.json (member id -> story tokens); the story sits between
`<!-- story:TOKEN -->` and `<!-- /story:TOKEN -->` in the HTML and the Markdown. Erasing a member
replaces those blocks with a short note and drops the member from the manifest; the figures are
aggregates and stay.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mentorflow.retrospective.report import WITHDRAWN
from mentorflow.retrospective.run import QUOTES

REPORTS = ("retrospective.html", "retrospective.md")


def erase_stories(reports_root: Path, member_id: str) -> int:
    """Remove `member_id`'s stories from every report under `reports_root`; returns how many."""
    removed = 0
    for manifest in sorted(reports_root.rglob(QUOTES)) if reports_root.is_dir() else []:
        quotes = json.loads(manifest.read_text(encoding="utf-8"))
        tokens = quotes.pop(member_id, [])
        if not tokens:
            continue
        for name in REPORTS:
            path = manifest.parent / name
            if path.is_file():
                text, count = _cut(path.read_text(encoding="utf-8"), tokens, name.endswith(".md"))
                path.write_text(text, encoding="utf-8")
                removed += count if name.endswith(".html") else 0
        manifest.write_text(json.dumps(quotes, indent=1, sort_keys=True), encoding="utf-8")
    return removed


def _cut(text: str, tokens: list[str], markdown: bool) -> tuple[str, int]:
    count = 0
    note = f"> {WITHDRAWN}" if markdown else f"<p>{WITHDRAWN}</p>"
    for token in tokens:
        pattern = re.compile(
            rf"<!-- story:{re.escape(token)} -->.*?<!-- /story:{re.escape(token)} -->", re.S
        )
        text, found = pattern.subn(note, text)
        count += found
    return text, count
