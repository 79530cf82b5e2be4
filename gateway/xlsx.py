"""A small XLSX (Office Open XML spreadsheet) writer: one or more sheets of a header row and data
rows, nothing else. No dependency beyond the standard library.

The package holds the parts Excel, LibreOffice and Numbers need and no more: ``[Content_Types].xml``,
the package and workbook relationships, ``xl/workbook.xml``, ``xl/styles.xml`` (a bold header) and
one ``xl/worksheets/sheetN.xml`` per sheet. Text goes in as inline strings (``t="inlineStr"``), so
there is no shared-string table and nothing in a cell is ever taken for a formula; ``int`` and
``float`` go in as numbers, ``bool`` as booleans, ``None`` as an empty cell. The header row is
frozen. Characters XML 1.0 cannot carry (most C0 controls) are dropped.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_TEXT = 32767  # Excel's limit per cell
MAX_SHEET_NAME = 31

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_BAD_NAME = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True, slots=True)
class Sheet:
    name: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def _text(value: str) -> str:
    return _ILLEGAL.sub("", value)[:MAX_CELL_TEXT]


def _cell(ref: str, value: Any, style: int = 0) -> str:
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{ref}"{s}/>' if style else ""
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float) and not (isinstance(value, float) and not math.isfinite(value)):
        return f'<c r="{ref}"{s}><v>{value!r}</v></c>'
    text = _text(str(value))
    space = ' xml:space="preserve"' if text != text.strip() or "\n" in text else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def _width(values: Iterable[Any]) -> float:
    longest = 0
    for v in values:
        if v is None:
            continue
        text = str(v)
        # CJK characters are about two columns wide
        longest = max(longest, sum(2 if ord(ch) > 0x2E80 else 1 for ch in text[:200]))
    return float(min(60, max(6, longest + 2)))


def _sheet_xml(sheet: Sheet) -> str:
    rows = [list(r) for r in sheet.rows]
    header = list(sheet.header)
    ncols = max([len(header), *(len(r) for r in rows)]) if (header or rows) else 1
    last = f"{column_letter(max(0, ncols - 1))}{len(rows) + 1}"
    widths = [_width([header[i] if i < len(header) else None, *(r[i] if i < len(r) else None for r in rows[:500])])
              for i in range(ncols)]
    out = [_XML, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">', f'<dimension ref="A1:{last}"/>',
           '<sheetViews><sheetView workbookViewId="0">'
           '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
           '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>',
           '<sheetFormatPr defaultRowHeight="15"/>', "<cols>"]
    out += [f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths)]
    out.append("</cols><sheetData>")
    out.append('<row r="1">' + "".join(_cell(f"{column_letter(i)}1", h, 1) for i, h in enumerate(header)) + "</row>")
    for n, row in enumerate(rows, start=2):
        out.append(f'<row r="{n}">' + "".join(_cell(f"{column_letter(i)}{n}", v) for i, v in enumerate(row))
                   + "</row>")
    out.append("</sheetData></worksheet>")
    return "".join(out)


def sheet_name(name: str, taken: set[str]) -> str:
    """A name Excel accepts: at most 31 characters, none of ``[]:*?/\\``, unique in the book."""
    base = _BAD_NAME.sub("_", _text(name)).strip("'").strip() or "Sheet"
    base = base[:MAX_SHEET_NAME]
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        suffix = f" ({n})"
        candidate = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


_STYLES = (
    _XML + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The .xlsx file of ``sheets`` (at least one)."""
    if not sheets:
        raise ValueError("a workbook has at least one sheet")
    taken: set[str] = set()
    names = [sheet_name(s.name, taken) for s in sheets]
    n = len(sheets)
    content_types = (
        _XML + f'<Types xmlns="{_CT}">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  for i in range(1, n + 1))
        + "</Types>"
    )
    package_rels = (
        _XML + f'<Relationships xmlns="{_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    book = (
        _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/></bookViews><sheets>'
        + "".join(f'<sheet name={quoteattr(name)} sheetId="{i}" r:id="rId{i}"/>'
                  for i, name in enumerate(names, start=1))
        + "</sheets></workbook>"
    )
    book_rels = (
        _XML + f'<Relationships xmlns="{_PKG_REL}">'
        + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                  for i in range(1, n + 1))
        + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", package_rels)
        z.writestr("xl/workbook.xml", book)
        z.writestr("xl/_rels/workbook.xml.rels", book_rels)
        z.writestr("xl/styles.xml", _STYLES)
        for i, sheet in enumerate(sheets, start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(sheet))
    return buf.getvalue()
