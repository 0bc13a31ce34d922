"""The retrospective report: one document model rendered as HTML and as Markdown, plots embedded.

The report may be forwarded to a board or a sponsor: it names the program, the cycle and the exact
spec (file and sha256), and holds figures only: no member id, name or address. The one exception
is a story its author allowed to share, quoted without a name; each story sits between
`<!-- story:TOKEN -->` markers and quotes.json maps member ids to their tokens, so that erasing a
member removes their story from every report (see erasure.py).
"""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass, field
from typing import Any

from mentorflow.retrospective import plots
from mentorflow.retrospective.numbers import MIN_CORRELATION, MIN_PAIRED, MIN_SHARE, share_text

WITHDRAWN = "(a story was withdrawn by its author)"


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Image:
    alt: str
    uri: str


@dataclass(frozen=True)
class Story:
    token: str
    text: str


Block = str | Table | Image | Story


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    program_id: str
    program_name: str
    cycle: str
    spec_file: str
    spec_sha256: str
    generated_at: str
    recorded_sha256: str | None = None  # the flows recorded another spec for the program


@dataclass(frozen=True)
class Report:
    html: str
    markdown: str
    quotes: dict[str, list[str]]  # member id -> story tokens (for erasure; never in the report)


def build(
    context: Context,
    figures: dict[str, Any],
    earlier: list[dict[str, Any]],
    stories: list[tuple[str, str, str]],
) -> Report:
    quotes: dict[str, list[str]] = {}
    story_blocks: list[Block] = []
    for member_id, _survey, text in stories:
        token = secrets.token_hex(8)
        quotes.setdefault(member_id, []).append(token)
        story_blocks.append(Story(token, text))
    sections = _sections(context, figures, earlier, story_blocks)
    return Report(_html(context, sections), _markdown(context, sections), quotes)


def _sections(
    context: Context, f: dict[str, Any], earlier: list[dict[str, Any]], stories: list[Block]
) -> list[Section]:
    return [
        _summary(context, f),
        _participation(f),
        _retention(f),
        _satisfaction(f),
        _surveys(f),
        _engagement(f),
        _contributions(f),
        _matching(f),
        _across(earlier),
        Section(
            "Stories",
            stories or ["No story was shared: only stories whose authors agreed are quoted."],
        ),
        Section(
            "How to read this",
            [
                f"Shares of fewer than {MIN_SHARE} people are shown as n<{MIN_SHARE}. A paired "
                f"Wilcoxon test is run only on {MIN_PAIRED} or more changed answers, a Spearman "
                f"correlation only on {MIN_CORRELATION} or more pairs where both sides vary.",
                f"Produced by the spec {context.spec_file} (sha256 {context.spec_sha256}).",
            ],
        ),
    ]


def _summary(c: Context, f: dict[str, Any]) -> Section:
    p, r = f["participation"], f["retention"]
    return Section(
        "Summary",
        [
            f"Program {c.program_name} ({c.program_id}), cycle {c.cycle} ({f['status']}).",
            f"Spec: {c.spec_file}, sha256 {c.spec_sha256}. Generated {c.generated_at}.",
            *(
                [f"The flows last ran this program with another spec, sha256 {c.recorded_sha256}."]
                if c.recorded_sha256
                else []
            ),
            Table(
                ["figure", "value"],
                [
                    ["applied", str(p["applied"])],
                    ["enrolled", str(p["enrolled"])],
                    ["matched", share_text(p["matched"])],
                    ["pairs that reached closure", share_text(r["reached_closure"])],
                    ["pairs that ended early", share_text(r["ended_early"])],
                    ["members who came back from an earlier cycle", share_text(r["came_back"])],
                    ["stories shared with consent", str(f["stories_shared"])],
                ],
            ),
        ],
    )


def _participation(f: dict[str, Any]) -> Section:
    p = f["participation"]
    roles = ", ".join(f"{k} {v}" for k, v in p["by_role"].items()) or "nobody"
    rows = ", ".join(f"{k} {v}" for k, v in p["intake_rows"].items()) or "none stored"
    return Section(
        "Participation",
        [
            Table(
                ["figure", "value"],
                [
                    ["applied (own latest sign-up rows)", str(p["applied"])],
                    ["enrolled", f"{p['enrolled']} ({roles})"],
                    ["matched", share_text(p["matched"])],
                    ["unmatched", str(p["unmatched"])],
                    [
                        "waitlisted (of them mentees)",
                        f"{p['waitlisted']} ({p['waitlisted_mentees']})",
                    ],
                    ["active at mid-point (of matched)", share_text(p["active_mid"])],
                    ["active at the end (of matched)", share_text(p["active_end"])],
                ],
            ),
            f"Sign-up rows by outcome: {rows}.",
            Image(
                "Participation: applied, enrolled, matched, active", plots.data_uri(plots.funnel(f))
            ),
        ],
    )


def _retention(f: dict[str, Any]) -> Section:
    r = f["retention"]
    reasons = [[k, str(v)] for k, v in r["early_reasons"].items()]
    blocks: list[Block] = [
        Table(
            ["pairs", "value"],
            [
                ["pairs (and groups)", str(r["pairs"])],
                ["reached closure", share_text(r["reached_closure"])],
                ["ended early", share_text(r["ended_early"])],
                ["ended at a round change", str(r["round_changes"])],
                ["not ended yet", str(r["still_open"])],
            ],
        ),
        Image("How pairs ended", plots.data_uri(plots.outcomes(f))),
    ]
    if reasons:
        blocks.append(Table(["why pairs ended early", "pairs"], reasons))
    return Section("Retention", blocks)


def _test_text(test: dict[str, Any] | None) -> str:
    if test is None:
        return f"not run (fewer than {MIN_PAIRED} changed answers)"
    return f"Wilcoxon W={test['statistic']}, p={test['p']} (n={test['n']})"


def _satisfaction(f: dict[str, Any]) -> Section:
    rows = [
        [
            s["question"],
            s["role"],
            str(s["change"]["n"]),
            f"{s['change']['median']:+g} [{s['change']['q1']:+g}, {s['change']['q3']:+g}]",
            share_text(s["improved"]),
            _test_text(s["test"]),
        ]
        for s in f["satisfaction"]
    ]
    if not rows:
        return Section("Before and after", ["No member answered a repeated question twice."])
    blocks: list[Block] = [
        Table(["question", "role", "members", "median change [IQR]", "improved", "test"], rows)
    ]
    png = plots.changes(f)
    if png:
        blocks.append(Image("Before and after: median change per question", plots.data_uri(png)))
    return Section("Before and after", blocks)


def _score_text(score: dict[str, Any]) -> str:
    if not score["n"]:
        return "no answers"
    return f"{score['median']:g} [{score['q1']:g}, {score['q3']:g}] (n={score['n']})"


def _rate_text(rate: dict[str, Any]) -> str:
    """Answered of invited; answers without a stored invitation (a Google Form) said apart."""
    if rate["rate"]["of"] == 0:
        return f"{rate['answered']} answered, no invitation in the outbox"
    return share_text(rate["rate"])


def _surveys(f: dict[str, Any]) -> Section:
    rates = [[r["survey"], _rate_text(r)] for r in f["response_rates"]]
    blocks: list[Block] = []
    if rates:
        blocks.append(Table(["survey", "answered of invited"], rates))
    scores = [[s["survey"], s["question"], _score_text(s["score"])] for s in f["scores"]]
    if scores:
        blocks.append(Table(["survey", "question", "median [IQR]"], scores))
    pulse = [[p["survey"], str(p["occurrence"]), _score_text(p["score"])] for p in f["pulse"]]
    if pulse:
        blocks.append(Table(["pulse", "number", "median [IQR]"], pulse))
        png = plots.pulse(f)
        if png:
            blocks.append(Image("Pulse over the cycle", plots.data_uri(png)))
    return Section("Surveys", blocks or ["This cycle had no survey answers."])


def _engagement(f: dict[str, Any]) -> Section:
    e = f["engagement"]
    answers = e["check_in_answers"]
    rows = [
        ["check-in mails", str(e["check_in_invitations"])],
        [
            "answered met / not yet / cannot",
            f"{answers['met']} / {answers['not_yet']} / {answers['cannot']}",
        ],
        ["check-ins not answered", str(e["check_ins_unanswered"])],
        ["pairs that met at least once", share_text(e["pairs_met"])],
        ["no-meeting nudges", str(e["escalations"]["no_meeting_nudges"])],
        ["rematch offers", str(e["escalations"]["rematch_offers"])],
        [
            "rematch requests (rematched)",
            f"{sum(e['rematch_requests'].values())} ({e['rematched']})",
        ],
        ["pauses", str(e["pauses"])],
        ["leaves", str(e["leaves"])],
    ]
    blocks: list[Block] = [Table(["engagement", "value"], rows)]
    if e["leave_reasons"]:
        blocks.append(
            Table(
                ["why members left", "members"],
                [[k, str(v)] for k, v in e["leave_reasons"].items()],
            )
        )
    return Section("Engagement", blocks)


def _contributions(f: dict[str, Any]) -> Section:
    c = f["contributions"]
    m = f["mentees_to_mentors"]
    blocks: list[Block] = []
    if c["source"] is None:
        blocks.append("The spec counts no contributions (retrospective.contributions).")
    else:
        per = c["per_member"]
        blocks.append(
            Table(
                ["contributions", "value"],
                [
                    ["counted from", c["source"]],
                    ["members counted", str(c["counted"])],
                    ["members who contributed (of enrolled)", share_text(c["contributed"])],
                    ["contributions in all", str(c["total"])],
                    ["per member: median [IQR]", _score_text(per)],
                    ["rows naming nobody of this cycle", str(c["rows_naming_nobody"])],
                ],
            )
        )
    rows = [[r["cycle"], str(r["mentees"]), share_text(r["mentored_later"])] for r in m["by_cycle"]]
    blocks.append(Table(["cycle", "mentees", "mentored in a later cycle"], rows))
    blocks.append(
        "Mentors this cycle who were mentees before: "
        + share_text(m["former_mentees_mentoring_now"])
        + "."
    )
    return Section("Contributions and mentees who became mentors", blocks)


def _corr_text(value: dict[str, Any]) -> str:
    if value["rho"] is None:
        return f"not computed (n={value['n']})"
    return f"rho={value['rho']:+.2f}, p={value['p']} (n={value['n']})"


def _matching(f: dict[str, Any]) -> Section:
    rows = [
        [q["criterion"], _corr_text(q["met"]), _corr_text(q["rating"])]
        for q in f["matching_quality"]
    ]
    if not rows:
        return Section("Matching quality and outcomes", ["No pair was matched."])
    return Section(
        "Matching quality and outcomes",
        [
            "Spearman correlation of each criterion's score with the pair's check-ins answered "
            "`met` and with its fit and pulse ratings.",
            Table(["criterion", "vs meetings", "vs ratings"], rows),
        ],
    )


def _across(rows: list[dict[str, Any]]) -> Section:
    table = Table(
        ["cycle", "applied", "enrolled", "matched", "closed pairs", "ended early", "came back"],
        [
            [
                r["cycle"],
                str(r["applied"]),
                str(r["enrolled"]),
                share_text(r["matched"]),
                share_text(r["reached_closure"]),
                share_text(r["ended_early"]),
                share_text(r["came_back"]),
            ]
            for r in rows
        ],
    )
    blocks: list[Block] = [table]
    png = plots.across_cycles(rows)
    if png:
        blocks.append(Image("Across cycles", plots.data_uri(png)))
    return Section("Earlier cycles of the program", blocks)


# --- rendering ---------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_block(block: Block) -> str:
    if isinstance(block, Table):
        head = "| " + " | ".join(map(_md_cell, block.headers)) + " |"
        rule = "|" + "---|" * len(block.headers)
        body = ["| " + " | ".join(map(_md_cell, row)) + " |" for row in block.rows]
        return "\n".join([head, rule, *body])
    if isinstance(block, Image):
        return f"![{block.alt}]({block.uri})"
    if isinstance(block, Story):
        quoted = "\n".join("> " + line for line in block.text.splitlines() or [""])
        return f"<!-- story:{block.token} -->\n{quoted}\n<!-- /story:{block.token} -->"
    return block


def _markdown(c: Context, sections: list[Section]) -> str:
    parts = [f"# Retrospective: {c.program_name}, cycle {c.cycle}"]
    for section in sections:
        parts.append(f"## {section.title}")
        parts.extend(_md_block(b) for b in section.blocks)
    return "\n\n".join(parts) + "\n"


def _html_block(block: Block) -> str:
    e = html.escape
    if isinstance(block, Table):
        head = "".join(f'<th scope="col">{e(h)}</th>' for h in block.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>" for row in block.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(block, Image):
        image = f'<img src="{block.uri}" alt="{e(block.alt)}">'
        return f"<figure>{image}<figcaption>{e(block.alt)}</figcaption></figure>"
    if isinstance(block, Story):
        text = "<br>".join(e(line) for line in block.text.splitlines())
        quote = f'<blockquote class="story">{text}</blockquote>'
        return f"<!-- story:{block.token} -->{quote}<!-- /story:{block.token} -->"
    return f"<p>{e(block)}</p>"


_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left}th{background:#f0f3f7}figure{margin:1rem 0}img{max-width:100%}
blockquote.story{border-left:4px solid #3b6ea8;margin:1rem 0;padding:.2rem 1rem;color:#333}
"""


def _html(c: Context, sections: list[Section]) -> str:
    e = html.escape
    title = f"Retrospective: {c.program_name}, cycle {c.cycle}"
    body = "".join(
        f"<section><h2>{e(s.title)}</h2>{''.join(_html_block(b) for b in s.blocks)}</section>"
        for s in sections
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title>"
        f"<style>{_STYLE}</style></head><body><main><h1>{e(title)}</h1>{body}</main></body></html>\n"
    )
