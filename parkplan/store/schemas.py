"""Private PostgreSQL schemas: a throw-away workspace in a shared database.

The tests and the load benchmark each make their workspaces in a fresh schema of one
database (``$PARKPLAN_TEST_PG_URL``) and drop it afterwards, so that runs never see each
other's records.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import quote

from parkplan.i18n import t


def schema_url(url: str, schema: str) -> str:
    """Return ``url`` with its search path set to ``schema`` (then ``public``).

    Parameters
    ----------
    url : str
        A ``postgresql://`` URL.
    schema : str

    Returns
    -------
    str
    """
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema},public')}"


@contextlib.contextmanager
def fresh_schema(url: str, *, keep: bool = False, prefix: str = "load") -> Iterator[str]:
    """Create a private schema in the database at ``url``; yield its workspace URL.

    Parameters
    ----------
    url : str
        A ``postgresql://`` URL of a database with the postgis extension.
    keep : bool
        Keep the schema afterwards (default: dropped with everything in it).
    prefix : str
        Start of the schema's name, to tell its users apart (``t`` for the tests).

    Yields
    ------
    str
        The workspace URL, ``url`` with its search path on the new schema.

    Raises
    ------
    ValueError
        If ``url`` is not a ``postgresql://`` URL.
    """
    import sqlalchemy as sa

    if not url.startswith("postgresql://"):
        raise ValueError(t("store.schema.not_postgresql", "en", url=url))
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    # pre-ping: the schema is dropped even when the database restarted meanwhile
    engine = sa.create_engine(
        url.replace("postgresql://", "postgresql+psycopg://", 1), pool_pre_ping=True
    )
    with engine.begin() as conn:
        conn.execute(sa.schema.CreateSchema(schema))
    try:
        yield schema_url(url, schema)
    finally:
        if not keep:
            with engine.begin() as conn:
                conn.execute(sa.schema.DropSchema(schema, cascade=True))
        engine.dispose()


__all__ = ["fresh_schema", "schema_url"]
