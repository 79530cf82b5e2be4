"""Reading an uploaded CSV: the raw body or a multipart ``file`` field, UTF-8 with or without a BOM."""

from __future__ import annotations

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile


async def read_csv(request: Request) -> str:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(422, "multipart upload needs a 'file' field")
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "CSV must be UTF-8") from exc
