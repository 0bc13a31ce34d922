"""An in-process fake of the Google Sheets v4 endpoints gspread 6 calls, with fault injection.

Mounted on a `requests.Session` through a transport adapter, so `gspread.Client(auth=None,
session=fake.session())` runs gspread's real code and nothing leaves the process:

    fake = FakeSheets()
    fake.add_spreadsheet("key1", {"Formularantworten 1": [["Zeitstempel", ...], [...]]})
    client = fake.client()
    fake.fail_next(429, 503)            # the next two requests answer 429, then 503

Endpoints: spreadsheet metadata (GET /v4/spreadsheets/{k}), values get/update/append/clear
(GET/PUT/POST /v4/spreadsheets/{k}/values/{range}[:append|:clear]), values:batchGet,
values:batchUpdate, and {k}:batchUpdate with addSheet / deleteSheet. Values are stored as text
grids, the way a sheet shows them; `requests` records (method, path) of every call.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import gspread
import requests
from requests.adapters import BaseAdapter

BASE = "https://sheets.googleapis.com/"
_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_MESSAGES = {
    429: "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute "
    "per user' of service 'sheets.googleapis.com'.",
    500: "Internal error encountered.",
    503: "The service is currently unavailable.",
}
_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


class FakeSheetsError(Exception):
    """An answer the fake gives as an HTTP error: carries its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Worksheet:
    title: str
    sheet_id: int
    index: int
    values: list[list[str]] = field(default_factory=list)
    rows: int = 1000
    cols: int = 26

    def properties(self) -> dict[str, Any]:
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": {
                "rowCount": max(self.rows, len(self.values)),
                "columnCount": max(self.cols, *map(len, self.values or [[]])),
            },
        }


@dataclass
class Spreadsheet:
    key: str
    title: str
    sheets: list[Worksheet] = field(default_factory=list)

    def sheet(self, title: str) -> Worksheet:
        for ws in self.sheets:
            if ws.title == title:
                return ws
        raise FakeSheetsError(400, f"Unable to parse range: {title}")


class FakeSheets:
    """The fake service: spreadsheets by key, a queue of injected faults, a request log."""

    def __init__(self) -> None:
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.faults: deque[int] = deque()
        self.requests: list[tuple[str, str]] = []
        self.shared = True  # False: every call answers 403, as for a sheet not shared

    # --- set-up --------------------------------------------------------------------------

    def add_spreadsheet(
        self, key: str, worksheets: dict[str, list[list[str]]], title: str = "Anmeldung"
    ) -> Spreadsheet:
        book = Spreadsheet(key, title)
        for index, (name, values) in enumerate(worksheets.items()):
            book.sheets.append(Worksheet(name, index, index, [list(map(str, r)) for r in values]))
        self.spreadsheets[key] = book
        return book

    def values(self, key: str, title: str) -> list[list[str]]:
        return self.spreadsheets[key].sheet(title).values

    def fail_next(self, *statuses: int) -> None:
        """The next len(statuses) requests answer with these HTTP statuses, in order."""
        self.faults.extend(statuses)

    def session(self) -> requests.Session:
        session = requests.Session()
        session.mount(BASE, _Adapter(self))
        return session

    def client(self) -> gspread.Client:
        return gspread.Client(auth=None, session=self.session())  # type: ignore[arg-type]

    # --- dispatch --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Any:
        self.requests.append((method, unquote(path)))
        if self.faults:
            status = self.faults.popleft()
            raise FakeSheetsError(status, _MESSAGES.get(status, "Injected failure."))
        if not self.shared:
            raise FakeSheetsError(403, "The caller does not have permission")
        match = re.match(r"^/v4/spreadsheets/([^/:]+)(.*)$", path)
        if match is None:
            raise FakeSheetsError(404, "Not found")
        key, rest = match.groups()
        if key not in self.spreadsheets:
            raise FakeSheetsError(404, "Requested entity was not found.")
        return self._route(self.spreadsheets[key], method, rest, query, body or {})

    def _route(
        self, book: Spreadsheet, method: str, rest: str, query: dict[str, list[str]], body: Any
    ) -> Any:
        if rest == "" and method == "GET":
            return self._metadata(book)
        if rest == ":batchUpdate" and method == "POST":
            return {
                "spreadsheetId": book.key,
                "replies": [self._request(book, r) for r in body["requests"]],
            }
        if rest == "/values:batchGet" and method == "GET":
            ranges = [self._get(book, r) for r in query.get("ranges", [])]
            return {"spreadsheetId": book.key, "valueRanges": ranges}
        if rest == "/values:batchUpdate" and method == "POST":
            answers = [self._put(book, d["range"], d["values"]) for d in body.get("data", [])]
            return {
                "spreadsheetId": book.key,
                "responses": answers,
                "totalUpdatedCells": sum(a["updatedCells"] for a in answers),
            }
        if rest.startswith("/values/"):
            return self._values(book, method, unquote(rest[len("/values/") :]), body)
        raise FakeSheetsError(404, f"no fake for {method} {rest}")

    def _values(self, book: Spreadsheet, method: str, target: str, body: Any) -> Any:
        if method == "GET":
            return self._get(book, target)
        if method == "PUT":
            return {"spreadsheetId": book.key, **self._put(book, target, body["values"])}
        if method == "POST" and target.endswith(":append"):
            return self._append(book, target.removesuffix(":append"), body["values"])
        if method == "POST" and target.endswith(":clear"):
            title, _ = _split_range(target.removesuffix(":clear"))
            book.sheet(title).values = []
            return {"spreadsheetId": book.key, "clearedRange": target.removesuffix(":clear")}
        raise FakeSheetsError(404, f"no fake for {method} values/{target}")

    def _metadata(self, book: Spreadsheet) -> dict[str, Any]:
        return {
            "spreadsheetId": book.key,
            "properties": {"title": book.title, "locale": "de_DE", "timeZone": "Europe/Berlin"},
            "sheets": [{"properties": ws.properties()} for ws in book.sheets],
        }

    def _request(self, book: Spreadsheet, request: dict[str, Any]) -> dict[str, Any]:
        if "addSheet" in request:
            props = request["addSheet"]["properties"]
            if any(ws.title == props["title"] for ws in book.sheets):
                raise FakeSheetsError(400, f'A sheet with the name "{props["title"]}" exists')
            grid = props.get("gridProperties", {})
            ws = Worksheet(
                props["title"],
                1 + max((w.sheet_id for w in book.sheets), default=0),
                len(book.sheets),
                [],
                grid.get("rowCount", 1000),
                grid.get("columnCount", 26),
            )
            book.sheets.append(ws)
            return {"addSheet": {"properties": ws.properties()}}
        if "deleteSheet" in request:
            sheet_id = request["deleteSheet"]["sheetId"]
            book.sheets = [ws for ws in book.sheets if ws.sheet_id != sheet_id]
            return {}
        return {}  # formatting and other requests: accepted, nothing to keep

    def _get(self, book: Spreadsheet, target: str) -> dict[str, Any]:
        title, (r0, c0, r1, c1) = _split_range(target)
        grid = book.sheet(title).values
        rows = [row[c0:c1] for row in grid[r0:r1]]
        rows = [_trim(row) for row in rows]
        while rows and not rows[-1]:
            rows.pop()
        answer: dict[str, Any] = {"range": target, "majorDimension": "ROWS"}
        if rows:
            answer["values"] = rows
        return answer

    def _put(self, book: Spreadsheet, target: str, values: list[list[Any]]) -> dict[str, Any]:
        title, (r0, c0, _, _) = _split_range(target)
        grid = book.sheet(title).values
        for i, row in enumerate(values):
            while len(grid) <= r0 + i:
                grid.append([])
            line = grid[r0 + i]
            for j, value in enumerate(row):
                while len(line) <= c0 + j:
                    line.append("")
                line[c0 + j] = "" if value is None else str(value)
        cells = sum(len(row) for row in values)
        width = max(map(len, values), default=0)
        return {
            "updatedRange": target,
            "updatedRows": len(values),
            "updatedColumns": width,
            "updatedCells": cells,
        }

    def _append(self, book: Spreadsheet, target: str, values: list[list[Any]]) -> dict[str, Any]:
        title, _ = _split_range(target)
        grid = book.sheet(title).values
        while grid and not any(cell for cell in grid[-1]):
            grid.pop()
        start = len(grid)
        updates = self._put(book, f"'{title}'!A{start + 1}", values)
        return {"spreadsheetId": book.key, "tableRange": f"'{title}'!A1", "updates": updates}


class _Adapter(BaseAdapter):
    """A transport adapter that answers requests from a FakeSheets, never opening a socket."""

    def __init__(self, fake: FakeSheets) -> None:
        super().__init__()
        self.fake = fake

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:
        url = urlsplit(request.url or "")
        body = json.loads(request.body) if request.body else None
        try:
            payload = self.fake.handle(request.method or "GET", url.path, parse_qs(url.query), body)
            return _response(request, 200, payload)
        except FakeSheetsError as error:
            status = {
                "code": error.status,
                "message": error.message,
                "status": _STATUS.get(error.status, "UNKNOWN"),
            }
            return _response(request, error.status, {"error": status})

    def close(self) -> None:
        pass


def _response(request: requests.PreparedRequest, status: int, payload: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json; charset=UTF-8"
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    return response


def _trim(row: list[str]) -> list[str]:
    row = list(row)
    while row and row[-1] == "":
        row.pop()
    return row


def _split_range(target: str) -> tuple[str, tuple[int, int, int | None, int | None]]:
    """`'Title'!A2:C9` -> ("Title", (row0, col0, row_end, col_end)), 0-based, ends exclusive."""
    if "!" in target:
        sheet, _, cells = target.rpartition("!")
    else:
        sheet, cells = target, ""
    title = sheet[1:-1].replace("''", "'") if sheet.startswith("'") else sheet
    if not cells:
        return title, (0, 0, None, None)
    first, _, last = cells.partition(":")
    r0, c0 = _cell(first, 0)
    r1, c1 = _cell(last, None) if last else (r0 + 1, c0 + 1)
    return title, (r0 or 0, c0 or 0, r1, c1)


def _cell(text: str, default: int | None) -> tuple[int | None, int | None]:
    """`B3` -> (2, 1) as start; as an end the same numbers are exclusive ends (3, 2)."""
    match = _CELL.match(text)
    if match is None:
        raise FakeSheetsError(400, f"Unable to parse range: {text}")
    letters, digits = match.groups()
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - 64
    if default is None:  # an end: exclusive
        return (int(digits) if digits else None, col if letters else None)
    return (int(digits) - 1 if digits else 0, col - 1 if letters else 0)
