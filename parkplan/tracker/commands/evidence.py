"""Evidence files of milestones: checked types, kept with their SHA-256."""

from __future__ import annotations

import hashlib
import mimetypes
import os
from pathlib import Path

import sqlalchemy as sa

from parkplan.errors import InputError, ParkplanError, Problem
from parkplan.identity.users import Visibility
from parkplan.tracker import access, tables
from parkplan.tracker.access import NotFound
from parkplan.tracker.model import Evidence, build
from parkplan.tracker.repository import Repository, row_of

#: Largest evidence file accepted.
MAX_EVIDENCE_BYTES = 64 * 1024 * 1024

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
#: Evidence file types accepted: extension → the content's possible leading bytes
#: (``None``: UTF-8 text without NUL bytes). OFD (China's fixed-layout format, GB/T 33190)
#: and the Office formats are ZIP containers.
EVIDENCE_TYPES: dict[str, tuple[bytes, ...] | None] = {
    ".pdf": (b"%PDF-",),
    ".ofd": _ZIP,
    ".zip": _ZIP,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".doc": _OLE,
    ".xls": _OLE,
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
    ".txt": None,
    ".csv": None,
    ".md": None,
}


def check_evidence_type(filename: str, content: bytes) -> None:
    """Refuse an evidence file whose extension or content is not an accepted type.

    The extension must be one of :data:`EVIDENCE_TYPES` and the content must start with
    that type's signature (text types: UTF-8 without NUL bytes), so a renamed executable
    or HTML page is refused whatever it is called.

    Raises
    ------
    InputError
    """
    ext = Path(filename).suffix.lower()
    if ext not in EVIDENCE_TYPES:
        raise InputError(
            [
                Problem(
                    filename,
                    None,
                    None,
                    f"evidence files must be one of "
                    f"{', '.join(sorted(EVIDENCE_TYPES))}, not "
                    f"{ext or 'a file without an extension'}",
                )
            ]
        )
    signatures = EVIDENCE_TYPES[ext]
    if signatures is None:
        try:
            ok = b"\x00" not in content and (content.decode("utf-8") or True)
        except UnicodeDecodeError:
            ok = False
    else:
        ok = content.startswith(signatures)
    if not ok:
        raise InputError(
            [Problem(filename, None, None, f"the content is not a {ext[1:].upper()} file")]
        )


def _too_large(name: str) -> InputError:
    return InputError([Problem(name, None, None, f"larger than {MAX_EVIDENCE_BYTES // 2**20} MiB")])


def read_source(source: str | os.PathLike | bytes, filename: str | None) -> tuple[bytes, str]:
    """Return an evidence file's bytes and name, refusing a missing or too large one.

    Raises
    ------
    InputError
    """
    if isinstance(source, bytes):
        if not filename:
            raise InputError(
                [Problem("evidence", None, "filename", "a filename is needed for bytes")]
            )
        content = source
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError([Problem(str(path), None, None, "no such file")])
        if path.stat().st_size > MAX_EVIDENCE_BYTES:
            raise _too_large(str(path))
        content = path.read_bytes()
        filename = filename or path.name
    if len(content) > MAX_EVIDENCE_BYTES:
        raise _too_large(filename)
    check_evidence_type(filename, content)
    return content, filename


def add_evidence(
    repo: Repository,
    milestone_id: str,
    source: str | os.PathLike | bytes,
    *,
    filename: str | None = None,
    note: str = "",
    visibility: Visibility | str | None = None,
) -> Evidence:
    """Keep a file as evidence of a milestone (see ``Tracker.add_evidence``).

    Raises
    ------
    InputError, NotFound, PermissionDenied
    """
    content, filename = read_source(source, filename)
    with repo.write() as conn:
        m = repo.one(conn, "milestone", milestone_id)
        ev = build(
            Evidence,
            {
                "milestone_id": milestone_id,
                "filename": filename,
                "media_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
                "sha256": hashlib.sha256(content).hexdigest(),
                "size": len(content),
                "note": note,
                "visibility": visibility or m.visibility,
                "added_by": repo.user.name,
                "added_at": repo.clock(),
            },
            what="evidence",
        )
        access.check_write(repo.user, "create", ev, task=m.task)
        values = row_of(ev, drop=("id",))
        values["content"] = content
        new_id = conn.execute(tables.evidence.insert().values(values)).inserted_primary_key[0]
        ev = ev.model_copy(update={"id": new_id})
        repo.journal(conn, "create", "evidence", new_id, None, ev)
    return ev


def evidence(repo: Repository, milestone_id: str) -> list[Evidence]:
    """Return the evidence files (without content) of a milestone the user may see."""
    with repo.read() as conn:
        repo.one(conn, "milestone", milestone_id)
        cols = [c for c in tables.evidence.c if c.name != "content"]
        rows = conn.execute(
            sa.select(*cols)
            .where(tables.evidence.c.milestone_id == milestone_id)
            .order_by(tables.evidence.c.id)
        ).all()
    return repo.visible(Evidence.model_validate(dict(r._mapping)) for r in rows)


def evidence_content(repo: Repository, evidence_id: int) -> tuple[Evidence, bytes]:
    """Return an evidence record and its bytes, checked against the stored SHA-256.

    Raises
    ------
    NotFound
    ParkplanError
        If the stored bytes no longer match their checksum.
    """
    with repo.read() as conn:
        row = conn.execute(
            sa.select(tables.evidence).where(tables.evidence.c.id == evidence_id)
        ).first()
        if row is not None:
            repo.one(conn, "milestone", row.milestone_id)
    data = dict(row._mapping) if row is not None else None
    content = data.pop("content") if data else None
    ev = Evidence.model_validate(data) if data else None
    if ev is None or not access.visible(repo.user, ev):
        raise NotFound(f"no evidence #{evidence_id} visible to you")
    if hashlib.sha256(content).hexdigest() != ev.sha256:
        raise ParkplanError(
            f"evidence #{evidence_id} {ev.filename} does not match its "
            f"SHA-256 {ev.sha256}: the stored file is damaged"
        )
    return ev, bytes(content)
