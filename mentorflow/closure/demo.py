"""The demo's closure: what closing did, and simulated alumni answering through the real page."""

from __future__ import annotations

import random
import re
from collections import Counter
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

from sqlalchemy import Engine, func, select

from mentorflow.closure.certificates import FOLDER
from mentorflow.mail.bodies import BODY_COLUMNS, Bodies
from mentorflow.paths import home
from mentorflow.spec.model import ProgramSpec
from mentorflow.store.tables import cycles, events, outbox
from mentorflow.surveys.demo import _server

LINK = re.compile(r"/alumni/[A-Za-z0-9_.\-]+")


def answer_alumni(engine: Engine, spec: ProgramSpec, seed: int = 11) -> Counter[str]:
    """About half the invited mentees POST yes on the real page, a quarter no; counts."""
    from mentorflow.web import create_app

    query = select(*BODY_COLUMNS).where(outbox.c.purpose == "alumni_invitation")
    with engine.connect() as conn:
        read = Bodies(conn)
        bodies = [read.text(row) for row in conn.execute(query.order_by(outbox.c.id))]
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    with _server(create_app(engine)) as base:
        for body in bodies:
            found = LINK.findall(body)  # the yes link comes first, then the no link
            pick = rng.random()
            if len(found) < 2 or pick > 0.75:
                continue
            path = found[0] if pick < 0.5 else found[1]
            counts[_post(base + path, "yes" if pick < 0.5 else "no")] += 1
    return counts


def _post(url: str, answer: str) -> str:
    try:
        with urlopen(url, data=urlencode({"confirm": "yes"}).encode(), timeout=10):
            return answer
    except HTTPError as error:
        return f"refused ({error.code})"


def closure_lines(engine: Engine, spec: ProgramSpec) -> list[str]:
    """What the store says about the closed cycle (counts only)."""
    with engine.connect() as conn:
        status = conn.execute(
            select(cycles.c.status).where(
                cycles.c.program_id == spec.program.id, cycles.c.label == spec.cycle.label
            )
        ).scalar()
        by_purpose: dict[str, int] = dict(
            conn.execute(
                select(outbox.c.purpose, func.count())
                .where(outbox.c.purpose.in_(("closure", "alumni_invitation")))
                .group_by(outbox.c.purpose)
            ).all()
        )
        answers = Counter(
            (row.data or {}).get("answer")
            for row in conn.execute(select(events.c.data).where(events.c.kind == "alumni_answer"))
        )
    folder = home() / FOLDER / spec.program.id / spec.cycle.label
    certificates = len(list(folder.glob("*.pdf"))) if folder.is_dir() else 0
    return [
        f"closure: cycle {spec.cycle.label} {status}; {by_purpose.get('closure', 0)} closure "
        f"mails, {certificates} mentor certificates under {folder}",
        f"  alumni: {by_purpose.get('alumni_invitation', 0)} mentees invited; answered on the "
        f"page: yes {answers['yes']}, no {answers['no']}",
    ]
