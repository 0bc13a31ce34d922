"""Answer pages of the engagement tick (check-in, pause, leave, rematch) and of closure (alumni).

GET shows, POST records.

Mail scanners open every link, so GET and HEAD only show a confirmation page with one button;
the POST of that button records the answer. A tampered, expired, foreign or stale link gets a
plain page and changes nothing; a second POST changes nothing either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mentorflow.closure import alumni
from mentorflow.engagement import answers, links
from mentorflow.errors import TokenError
from mentorflow.web.app import page, state
from mentorflow.web.routes import INVALID

MAX_FORM_BYTES = 2048
TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        "met": {
            "title": "Check-in",
            "confirm": "You met – great! Shall we note that down?",
            "button": "Yes, we met",
            "done": "Thank you! We noted that you met.",
        },
        "not_yet": {
            "title": "Check-in",
            "confirm": "You have not met yet. Shall we note that?",
            "explain": "That's fine – we'll remind you gently.",
            "button": "Not yet",
            "done": "Thank you! We noted that you have not met yet.",
        },
        "cannot": {
            "title": "Check-in",
            "confirm": "It doesn't work out with your match?",
            "explain": "That's nobody's fault. Your pair ends, and we look for a new "
            "match for each of you (never the same one again).",
            "button": "Yes, please find us new matches",
            "done": "Thank you for telling us. We are looking for a new match for you.",
        },
        "pause": {
            "title": "Pause",
            "confirm": "Away for a while? We'll send you nothing during the pause.",
            "choice_label": "For how long?",
            "button": "Pause my mail",
            "done": "Your mail is paused. Enjoy the time off!",
            "already": "Your mail is paused already.",
        },
        "leave": {
            "title": "Leave the program",
            "confirm": "Do you want to leave the program?",
            "explain": "Your pair ends and your partner is offered a new match. "
            "We will not write to you again in this cycle.",
            "choice_label": "Why are you leaving?",
            "button": "Leave the program",
            "done": "You have left the program. Thank you for taking part.",
        },
        "rematch": {
            "title": "New match",
            "confirm": "Shall we look for a new match for you?",
            "button": "Yes, find me a new match",
            "done": "Thank you! We are looking for a new match for you.",
        },
        "alumni_yes": {
            "title": "Mentor next cycle",
            "confirm": "You would like to mentor someone next cycle – wonderful! "
            "Shall we note that?",
            "explain": "We will ask for your consent again when the next cycle's sign-up opens.",
            "button": "Yes, count me in",
            "done": "Thank you! We noted you down as a mentor for the next cycle.",
        },
        "alumni_no": {
            "title": "Mentor next cycle",
            "confirm": "Not this time? Shall we note that?",
            "button": "Not this time",
            "done": "Thank you for telling us. All the best!",
        },
        "already": {"done": "We have this answer already. Nothing changed."},
        "weeks": {"1": "1 week", "2": "2 weeks", "4": "4 weeks", "8": "8 weeks"},
        "reasons": {
            "no_time": "I have no time at the moment",
            "not_a_fit": "It is not a fit",
            "goal_reached": "I reached my goal",
            "other": "Another reason",
        },
    },
    "de": {
        "met": {
            "title": "Check-in",
            "confirm": "Ihr habt Euch getroffen – schön! Sollen wir das festhalten?",
            "button": "Ja, wir haben uns getroffen",
            "done": "Danke! Wir haben notiert, dass Ihr Euch getroffen habt.",
        },
        "not_yet": {
            "title": "Check-in",
            "confirm": "Ihr habt Euch noch nicht getroffen. Sollen wir das festhalten?",
            "explain": "Kein Problem – wir erinnern Euch freundlich.",
            "button": "Noch nicht",
            "done": "Danke! Wir haben notiert, dass Ihr Euch noch nicht getroffen habt.",
        },
        "cannot": {
            "title": "Check-in",
            "confirm": "Es klappt mit Eurem Match nicht?",
            "explain": "Das ist niemandes Schuld. Euer Paar endet, und wir suchen für "
            "jede:n von Euch ein neues Match (nie wieder dasselbe).",
            "button": "Ja, bitte neue Matches suchen",
            "done": "Danke, dass Du es uns sagst. Wir suchen ein neues Match für Dich.",
        },
        "pause": {
            "title": "Pause",
            "confirm": "Eine Weile weg? Während der Pause schicken wir Dir nichts.",
            "choice_label": "Für wie lange?",
            "button": "Mails pausieren",
            "done": "Deine Mails sind pausiert. Gute Zeit!",
            "already": "Deine Mails sind schon pausiert.",
        },
        "leave": {
            "title": "Aus dem Programm aussteigen",
            "confirm": "Möchtest Du aus dem Programm aussteigen?",
            "explain": "Dein Paar endet, und Deinem Gegenüber bieten wir ein neues Match "
            "an. In diesem Durchgang schreiben wir Dir nicht mehr.",
            "choice_label": "Warum steigst Du aus?",
            "button": "Aussteigen",
            "done": "Du bist ausgestiegen. Danke fürs Mitmachen.",
        },
        "rematch": {
            "title": "Neues Match",
            "confirm": "Sollen wir ein neues Match für Dich suchen?",
            "button": "Ja, bitte ein neues Match",
            "done": "Danke! Wir suchen ein neues Match für Dich.",
        },
        "alumni_yes": {
            "title": "Mentor:in in der nächsten Runde",
            "confirm": "Du möchtest in der nächsten Runde selbst Mentor:in sein – wunderbar! "
            "Sollen wir das festhalten?",
            "explain": "Deine Einwilligung fragen wir noch einmal, wenn die Anmeldung zur "
            "nächsten Runde öffnet.",
            "button": "Ja, ich bin dabei",
            "done": "Danke! Wir haben Dich als Mentor:in für die nächste Runde vorgemerkt.",
        },
        "alumni_no": {
            "title": "Mentor:in in der nächsten Runde",
            "confirm": "Diesmal nicht? Sollen wir das festhalten?",
            "button": "Diesmal nicht",
            "done": "Danke, dass Du es uns sagst. Alles Gute!",
        },
        "already": {"done": "Diese Antwort haben wir schon. Es hat sich nichts geändert."},
        "weeks": {"1": "1 Woche", "2": "2 Wochen", "4": "4 Wochen", "8": "8 Wochen"},
        "reasons": {
            "no_time": "Ich habe gerade keine Zeit",
            "not_a_fit": "Es passt nicht",
            "goal_reached": "Ich habe mein Ziel erreicht",
            "other": "Ein anderer Grund",
        },
    },
}
PURPOSE = {
    "checkin": links.CHECK_IN,
    "pause": links.PAUSE,
    "leave": links.LEAVE,
    "rematch": links.REMATCH,
    "alumni": links.ALUMNI,
}


def _read(request: Request, kind: str) -> tuple[dict[str, str] | None, str]:
    """(payload, language) of the token in the path; (None, "en") when it is not valid."""
    engine, key, _ = state(request)
    try:
        payload = links.read_link_token(PURPOSE[kind], request.path_params["token"], key)
    except TokenError:
        return None, "en"
    with engine.connect() as conn:
        member = answers.member_row(conn, payload["m"])
        if member is None or not _still_valid(conn, kind, payload):
            return None, "en"
    return payload, member.language if member.language in TEXTS else "en"


def _still_valid(conn: Connection, kind: str, payload: dict[str, str]) -> bool:
    """A check-in link for a pair that ended (or another member's pair) is refused at once."""
    if kind == "alumni":
        return payload.get("a") in links.ALUMNI_ANSWERS
    if kind != "checkin":
        return True
    if payload.get("a") not in links.ANSWERS:
        return False
    return answers.live_match(conn, payload.get("p", ""), payload["m"]) is not None or (
        answers.already_answered(conn, payload.get("p", ""), payload["m"], payload.get("o", ""))
    )


def _invalid() -> Response:
    return page("message.html", 400, lang="en", title="mentorflow", message=INVALID)


def _texts(kind: str, payload: dict[str, str], lang: str) -> dict[str, str]:
    key = payload.get("a", "") if kind == "checkin" else kind
    if kind == "alumni":
        key = f"alumni_{payload.get('a', '')}"
    return {"explain": "", **TEXTS[lang][key]}


def _choices(kind: str, lang: str) -> list[tuple[str, str]]:
    if kind == "pause":
        return list(TEXTS[lang]["weeks"].items())
    if kind == "leave":
        return list(TEXTS[lang]["reasons"].items())
    return []


def form(kind: str) -> Callable[[Request], Any]:
    async def show(request: Request) -> Response:
        """GET and HEAD: the confirmation page with one button; nothing changes."""
        payload, lang = await run_in_threadpool(_read, request, kind)
        if payload is None:
            return _invalid()
        return page(
            "answer.html",
            lang=lang,
            t=_texts(kind, payload, lang),
            action=request.url.path,
            choices=_choices(kind, lang),
        )

    return show


def record(kind: str) -> Callable[[Request], Any]:
    async def post(request: Request) -> Response:
        """POST: record the answer once; a second POST changes nothing."""
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return _invalid()
        # a plain urlencoded form: no multipart parser needed for one field
        choice = parse_qs(body.decode("utf-8", "replace")).get("choice", [""])[0]
        payload, lang = await run_in_threadpool(_read, request, kind)
        if payload is None:
            return _invalid()
        outcome = await run_in_threadpool(_record, request, kind, payload, str(choice))
        if outcome == answers.REFUSED:
            return _invalid()
        texts = _texts(kind, payload, lang)
        message = (
            texts["done"]
            if outcome == answers.RECORDED
            else texts.get("already", TEXTS[lang]["already"]["done"])
        )
        return page("message.html", lang=lang, title=texts["title"], message=message)

    return post


def _record(request: Request, kind: str, payload: dict[str, str], choice: str) -> str:
    engine, _, clock = state(request)
    now = clock.now()
    with engine.begin() as conn:
        if kind == "checkin":
            return answers.record_check_in(conn, payload, now)
        if kind == "pause":
            weeks = int(choice) if choice.isdigit() else 0
            return answers.record_pause(conn, payload, weeks, now)
        if kind == "leave":
            return answers.record_leave(conn, payload, choice, now)
        if kind == "alumni":
            return alumni.record_answer(conn, payload, now)
        return answers.accept_rematch(conn, payload, now)


def routes() -> list[Route]:
    """GET routes answer HEAD too (Starlette adds it)."""
    found = []
    for kind in PURPOSE:
        found.append(Route(f"/{kind}/{{token}}", form(kind), methods=["GET"]))
        found.append(Route(f"/{kind}/{{token}}", record(kind), methods=["POST"]))
    return found
