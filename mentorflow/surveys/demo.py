"""The demo's simulated members answer their survey mails through the real page's POST.

A real uvicorn server on a loopback port serves the app; each simulated member opens the link
from their invitation (read back from the outbox) and POSTs answers, with the app's clock set
to the simulated moment. About half answer promptly, within the walk (`PromptMembers`: a few
hours to a day and a half after the invitation, so the tick does not nudge them); after the
walk about half of the others answer (`answer_surveys`, a day after their invitation, the
nudges had gone out); the rest never do.
"""

from __future__ import annotations

import heapq
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

from sqlalchemy import Engine, select

from mentorflow.engagement.state import aware
from mentorflow.errors import TokenError
from mentorflow.mail.bodies import BODY_COLUMNS, Bodies
from mentorflow.spec.model import ProgramSpec, Question
from mentorflow.store.tables import outbox, survey_responses
from mentorflow.surveys.definitions import SCALES
from mentorflow.surveys.tokens import read_survey_token

LINK = re.compile(r"/survey/[A-Za-z0-9_.\-]+")
CHECK_IN = re.compile(r"/checkin/[A-Za-z0-9_.\-]+")  # met, not yet, cannot: the mail's order
MET, NOT_YET = 0.7, 0.15  # shares of check-in mails answered "met" and "not yet" on the page
PROMPT = 0.5  # the share of invitations answered promptly, inside the walk
LATE = 0.5  # of the rest: answered after the walk (after their nudges)
PHRASES = ("Sehr hilfreich.", "Mehr Zeit wäre schön gewesen.", "Ich habe viel gelernt.")


class DemoClock:
    """A clock the demo moves: the page sees the simulated moment of each answer."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


def answer_surveys(engine: Engine, spec: ProgramSpec, seed: int = 7) -> Counter[str]:
    """After the walk: POST answers for about half of the invitations nobody answered yet."""
    from mentorflow.web import create_app
    from mentorflow.web.survey_routes import register_spec

    invitations = list(_invitations(engine))
    open_ones = [(path, at) for path, at in invitations if not _answered(engine, path, at)]
    clock = DemoClock(datetime.now().astimezone())
    app = create_app(engine, clock=clock)
    register_spec(app, spec)
    rng = random.Random(seed)
    counts: Counter[str] = Counter(invited=len(invitations))
    with _server(app) as base:
        for path, queued_at in open_ones:
            if rng.random() > LATE:
                continue
            clock.moment = queued_at + timedelta(days=1)
            survey_id = _survey_of(spec, path, base)
            data = _answers(spec, survey_id, rng) if survey_id else []
            counts[_post(base + path, data)] += 1
    return counts


def _answered(engine: Engine, path: str, queued_at: datetime) -> bool:
    """Whether the invitation's member answered its occurrence already (inside the walk)."""
    try:
        claim = read_survey_token(path.rsplit("/", 1)[1], queued_at)
    except TokenError:
        return False
    query = select(survey_responses.c.id).where(
        survey_responses.c.member_id == claim.member_id,
        survey_responses.c.survey_id == claim.survey_id,
        survey_responses.c.occurrence == claim.occurrence,
    )
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


class PromptMembers:
    """Inside the walk: about half of the survey invitations are answered promptly.

    `hour(moment)` is called for every simulated hour before the tick: it reads the invitations
    queued since the last call, decides (seeded) who answers and when, and POSTs the answers
    whose time has come, with the page's clock at that moment. So the tick nudges only those who
    have not answered, as in a real program.
    """

    def __init__(self, engine: Engine, spec: ProgramSpec, seed: int = 11) -> None:
        from mentorflow.web import create_app
        from mentorflow.web.survey_routes import register_spec

        self.engine, self.spec, self.rng = engine, spec, random.Random(seed)
        self.clock = DemoClock(datetime.now().astimezone())
        app = create_app(engine, clock=self.clock)
        register_spec(app, spec)
        self.server = _server(app)
        self.base = ""
        self.seen = 0  # the highest outbox id read
        self.due: list[tuple[datetime, str]] = []  # (answer moment, path), a heap
        self.counts: Counter[str] = Counter()
        self.check_ins: Counter[str] = Counter()  # answers to check-in mails, by answer
        self.planned: dict[str, str] = {}  # check-in link -> the answer it gives

    def __enter__(self) -> PromptMembers:
        self.base = self.server.__enter__()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.__exit__()

    def hour(self, moment: datetime) -> None:
        self._read_new()
        while self.due and self.due[0][0] <= moment:
            at, path = heapq.heappop(self.due)
            self.clock.moment = at
            if path.startswith("/checkin/"):
                self.check_ins[self._check_in_answer(path)] += 1
                continue
            survey_id = _survey_of(self.spec, path, self.base)
            data = _answers(self.spec, survey_id, self.rng) if survey_id else []
            self.counts[_post(self.base + path, data)] += 1

    def _read_new(self) -> None:
        query = (
            select(outbox.c.id, outbox.c.created_at, *BODY_COLUMNS)
            .where(outbox.c.id > self.seen, outbox.c.purpose.in_(("survey", "check_in")))
            .order_by(outbox.c.id)
        )
        with self.engine.connect() as conn:
            read = Bodies(conn)
            rows = [(row.id, row.created_at, read.text(row)) for row in conn.execute(query)]
        for row_id, created_at, text in rows:
            self.seen = max(self.seen, row_id)
            if self._plan_check_in(text, aware(created_at)):
                continue
            found = LINK.search(text)
            if found is None or self.rng.random() >= PROMPT:
                continue
            delay = timedelta(hours=self.rng.randint(2, 36))
            heapq.heappush(self.due, (aware(created_at) + delay, found.group(0)))

    def _plan_check_in(self, text: str, queued_at: datetime) -> bool:
        """A check-in mail: most members click "met", some "not yet", within three days."""
        links = CHECK_IN.findall(text)
        if len(links) < 3:
            return False
        roll = self.rng.random()
        if roll < MET + NOT_YET:
            delay = timedelta(hours=self.rng.randint(6, 72))
            path = links[0 if roll < MET else 1]
            self.planned[path] = "met" if roll < MET else "not_yet"
            heapq.heappush(self.due, (queued_at + delay, path))
        return True

    def _check_in_answer(self, path: str) -> str:
        outcome = _post(self.base + path, [])
        return outcome if outcome.startswith("refused") else self.planned[path]


def _invitations(engine: Engine) -> Iterator[tuple[str, datetime]]:
    query = select(outbox.c.created_at, *BODY_COLUMNS).where(
        outbox.c.purpose.in_(("survey", "closure"))  # a closure mail carries the exit survey
    )
    with engine.connect() as conn:
        read = Bodies(conn)
        for row in conn.execute(query):
            found = LINK.search(read.text(row))
            if found:
                yield found.group(0), aware(row.created_at)


def _survey_of(spec: ProgramSpec, path: str, base: str) -> str | None:
    """Which survey the page shows (the member reads the page; we match its questions)."""
    with urlopen(base + path, timeout=10) as page:
        html = page.read().decode("utf-8")
    for survey in spec.surveys.values():
        if all(f'name="q_{q.id}"' in html for q in survey.questions):
            return survey.id
    return None


def _answers(spec: ProgramSpec, survey_id: str, rng: random.Random) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for question in spec.surveys[survey_id].questions:
        found.extend((f"q_{question.id}", v) for v in _value(question, rng))
    return found


def _value(question: Question, rng: random.Random) -> list[str]:
    if question.type in SCALES:
        low = max(SCALES[question.type]) // 2
        return [str(rng.randint(low, max(SCALES[question.type])))]
    if question.type == "single_choice":
        return [str(rng.randrange(len(question.options)))]
    if question.type == "multiple_choice":
        count = rng.randint(1, len(question.options))
        return [str(i) for i in sorted(rng.sample(range(len(question.options)), count))]
    return [rng.choice(PHRASES)] if rng.random() < 0.6 else []


def _post(url: str, data: list[tuple[str, str]]) -> str:
    try:
        with urlopen(url, data=urlencode(data).encode(), timeout=10) as page:
            text = page.read().decode("utf-8")
    except HTTPError as error:
        return f"refused ({error.code})"
    return "updated" if "aktualisiert" in text or "updated" in text else "answered"


class _server:
    """uvicorn on a free loopback port, in a thread, for the length of the `with`."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
