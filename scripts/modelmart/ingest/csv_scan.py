"""Where the records of a CSV file are: an RFC 4180 scan over the bytes, vectorised with numpy."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from modelmart.ingest.results import RejectedFile

MAX_CSV_RECORD_BYTES = 8 * 2**20
"""The longest CSV record (one row, quoted newlines included) that is read; a longer
one is a ``malformed_csv_row`` of its row and the rest of the file is read."""
_CSV_WINDOW = 2 * MAX_CSV_RECORD_BYTES + 2**20  # holds any record that is read whole
_QUOTE, _COMMA = 34, 44
LF, CR = 10, 13


@dataclass
class CsvScan:
    """Where the records of a CSV file are. ``good_*``: byte spans (end = the
    record's newline) of the well-formed data records with the header's number of
    fields; ``rows``: their numbers (header = row 0; every record takes a number,
    blank and malformed ones too, as a text editor shows the rows)."""

    names: list[str]
    header_end: int
    good_starts: np.ndarray
    good_ends: np.ndarray
    rows: np.ndarray
    problems: list[dict[str, Any]]
    blank: int
    mixed_line_ends: bool  # some records end with CRLF, others with LF


@dataclass
class _Records:
    """The complete records at the start of a scan window, up to its first quote error."""

    starts: np.ndarray  # offsets in the window; a record ends at its newline (excluded)
    ends: np.ndarray
    fields: np.ndarray  # number of fields of each record
    lone_cr: np.ndarray  # record has a carriage return outside quotes not before its newline
    error: int | None  # offset of the first misplaced quote (or of an unclosed field's record)
    reason: str | None


def _scan_window(w: np.ndarray, at_eof: bool) -> _Records:
    """Split ``w`` (which starts at a record start) into records as RFC 4180 does:
    a newline ends a record unless it is inside quotes; a field is quoted only if
    its first byte is a quote, a quote inside it is doubled, and its closing quote
    is followed by a comma or the end of the record. Vectorised: the quote parity
    before each byte says whether it is inside quotes.
    """
    n = len(w)
    q = np.flatnonzero(w == _QUOTE)
    error, reason, outside = None, None, None
    if len(q):
        k = np.arange(len(q))
        prev = np.where(q > 0, w[np.maximum(q - 1, 0)], LF)
        after_quote = np.zeros(len(q), bool)
        after_quote[1:] = q[1:] == q[:-1] + 1
        before_quote = np.zeros(len(q), bool)
        before_quote[:-1] = after_quote[1:]
        nxt = np.where(q + 1 < n, w[np.minimum(q + 1, n - 1)], -1)
        nxt2 = np.where(q + 2 < n, w[np.minimum(q + 2, n - 1)], -1)
        # the window's end is not an error: the record there is scanned again
        ok_open = (prev == _COMMA) | (prev == LF) | after_quote
        ok_close = (
            (nxt == _COMMA)
            | (nxt == LF)
            | ((nxt == CR) & ((nxt2 == LF) | (nxt2 == -1)))
            | before_quote
            | (nxt == -1)
        )
        bad = np.where(k % 2 == 0, ~ok_open, ~ok_close)
        if bad.any():
            i = int(np.argmax(bad))
            error = int(q[i])
            if i % 2 == 0:
                reason = "stray quote in an unquoted field"
            elif (w[q[i - 1] : q[i]] == LF).any():
                reason = "unterminated quoted field"
            else:
                reason = "text after a closing quote"
        # uint8 wraps at 256, parity survives: the quote count before each byte, mod 2
        outside = (np.cumsum(w == _QUOTE, dtype=np.uint8) & 1) == 0
    limit = n if error is None else error
    part = w[:limit]
    free = outside[:limit] if outside is not None else None

    def unquoted(mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask if free is None else mask & free)

    ends = unquoted(part == LF)
    if error is None and at_eof:
        tail = int(ends[-1]) + 1 if len(ends) else 0
        if len(q) % 2:
            error, reason = tail, "unterminated quoted field"
        elif tail < n:
            ends = np.append(ends, n)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64) if len(ends) else ends
    commas = unquoted(part == _COMMA)
    fields = np.searchsorted(commas, ends) - np.searchsorted(commas, starts) + 1
    cr = unquoted(part == CR)
    lone_cr = np.zeros(len(ends), bool)
    if len(cr):
        # a CR right before its record's newline (or at the end of the file) ends a line
        cr = cr[(cr + 1 < n) & (w[np.minimum(cr + 1, n - 1)] != LF)]
        lone_cr[np.searchsorted(ends, cr)[np.searchsorted(ends, cr) < len(ends)]] = True
    return _Records(starts, ends, fields, lone_cr, error, reason)


def _csv_text(arr: np.ndarray, start: int, end: int) -> str:
    return arr[start : min(end, start + 2000)].tobytes().decode("utf-8", "replace")


def _next_line(arr: np.ndarray, begin: int) -> int:
    """Offset just past the first newline at or after ``begin`` (the end if none)."""
    for at in range(begin, len(arr), 1 << 20):
        found = np.flatnonzero(arr[at : at + (1 << 20)] == LF)
        if len(found):
            return at + int(found[0]) + 1
    return len(arr)


def bom(arr: np.ndarray) -> int:
    return 3 if arr[:3].tobytes() == b"\xef\xbb\xbf" else 0


def scan_csv(arr: np.ndarray) -> CsvScan:
    """Find every record of a CSV file (bytes); reject it if its header is not usable."""
    size = len(arr)
    skip = bom(arr)
    head = _scan_window(arr[skip : skip + _CSV_WINDOW], skip + _CSV_WINDOW >= size)
    if not len(head.ends):
        if head.error is not None:
            raise RejectedFile(f"header row is not valid CSV: {head.reason}")
        raise RejectedFile("no header row (the file has no complete first line)")
    header_end = skip + int(head.ends[0])
    text = arr[skip:header_end].tobytes().decode("utf-8").rstrip("\r")
    if not text:
        raise RejectedFile("the first line is empty; expected the header row")
    if head.lone_cr[0]:
        raise RejectedFile("header row has a carriage return that does not end the line")
    names = next(csv.reader([text], strict=True))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise RejectedFile(f"column {name!r} appears more than once in the header (ambiguous)")
        seen.add(name)
    n_fields = len(names)
    starts, ends, rows = [], [], []
    problems: list[dict[str, Any]] = []
    blank = 0
    # line ends seen: [LF, CRLF]; DuckDB's parser takes one kind for the whole file
    line_ends = [0, 0]
    line_ends[int(header_end > 0 and arr[header_end - 1] == CR)] += 1
    pos, row = header_end + 1, 1

    def malformed(number: int, at: int, end: int, why: str) -> None:
        problems.append(
            {
                "source_row": number,
                "reason": "malformed_csv_row",
                "column_name": None,
                "bad_value": why,
                "raw_row": json.dumps({"line": _csv_text(arr, at, end)}),
            }
        )

    while pos < size:
        lim = min(size, pos + _CSV_WINDOW)
        rec = _scan_window(arr[pos:lim], lim == size)
        m = len(rec.ends)
        if m:
            length = rec.ends - rec.starts
            is_blank = (length == 0) | ((length == 1) & (arr[pos + rec.starts] == CR))
            too_long = length > MAX_CSV_RECORD_BYTES
            bad = ~is_blank & ((rec.fields != n_fields) | rec.lone_cr | too_long)
            ok = ~is_blank & ~bad
            closed = rec.ends[ok & (rec.ends < lim - pos)]  # ended by an LF
            with_cr = int((arr[pos + closed - 1] == CR).sum())
            line_ends[1] += with_cr
            line_ends[0] += len(closed) - with_cr
            numbers = np.arange(row, row + m, dtype=np.int64)
            starts.append(rec.starts[ok] + pos)
            ends.append(rec.ends[ok] + pos)
            rows.append(numbers[ok])
            blank += int(is_blank.sum())
            for i in np.flatnonzero(bad):
                s, e = pos + int(rec.starts[i]), pos + int(rec.ends[i])
                if too_long[i]:
                    why = (
                        f"record of {e - s:,} bytes, over the {MAX_CSV_RECORD_BYTES:,}-byte maximum"
                    )
                elif rec.lone_cr[i]:
                    why = "carriage return outside quotes that does not end the line"
                elif rec.fields[i] > n_fields:
                    why = f"too many columns ({rec.fields[i]}, the header has {n_fields})"
                else:
                    why = f"missing columns ({rec.fields[i]}, the header has {n_fields})"
                malformed(int(numbers[i]), s, e, why)
            row += m
        if rec.error is not None:
            # the row where the bad quote's record starts is malformed; reading
            # resumes at the next line, so one stray quote costs one row
            begin = pos + (int(rec.ends[-1]) + 1 if m else 0)
            resume = _next_line(arr, begin)
            malformed(row, begin, resume, str(rec.reason))
            pos, row = resume, row + 1
        elif m:
            pos += int(rec.ends[-1]) + 1
        else:
            # no record ends within a whole window: longer than the maximum
            resume = _next_line(arr, pos)
            malformed(row, pos, resume, f"record over the {MAX_CSV_RECORD_BYTES:,}-byte maximum")
            pos, row = resume, row + 1
    cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
    return CsvScan(
        names,
        header_end,
        cat(starts),
        cat(ends),
        cat(rows),
        problems,
        blank,
        mixed_line_ends=min(line_ends) > 0,
    )


def write_well_formed(arr: np.ndarray, scan: CsvScan, handle: IO[bytes]) -> None:
    """Write the header and only the well-formed records to ``handle``, each ended
    by LF (a CR before a record's LF is not part of its last field)."""
    size = len(arr)
    marks = np.zeros(size + 1, np.int8)
    marks[scan.good_starts] += 1
    np.subtract.at(marks, np.minimum(scan.good_ends + 1, size), 1)
    keep = np.cumsum(marks[:size], dtype=np.int8).astype(bool)
    last = scan.good_ends[scan.good_ends > scan.good_starts] - 1
    keep[last[arr[last] == CR]] = False
    handle.write(arr[bom(arr) : scan.header_end].tobytes().rstrip(b"\r") + b"\n")
    handle.write(arr[keep].tobytes())
    handle.flush()
