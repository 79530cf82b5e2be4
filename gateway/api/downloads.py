"""Downloads: CSV as Excel reads it (UTF-8 with a BOM, CRLF), and the attachment response."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import Response

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"  # so that Excel reads the UTF-8 (Chinese) correctly; the imports skip it


def formula_safe(value: Any) -> Any:
    """A CSV cell: None is empty; text a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]],
             cell: Callable[[Any], Any] = formula_safe) -> str:
    buf = io.StringIO()
    buf.write(BOM)
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(header))
    writer.writerows([cell(v) for v in row] for row in rows)
    return buf.getvalue()


class CsvFile(Response):
    """What a CSV route answers, for its ``response_class`` (OpenAPI then says text/csv)."""

    media_type = "text/csv"


def download(content: str | bytes, filename: str, media_type: str = CSV_MEDIA_TYPE) -> Response:
    data = content.encode("utf-8") if isinstance(content, str) else content
    return Response(data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
