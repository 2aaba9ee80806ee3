"""The PostgreSQL client tools (pg_dump, pg_restore, psql): found, versioned, run.

Database passwords never appear on a command line: the tools get the URL without its
password (:func:`libpq_connection`), and the password through ``PGPASSWORD`` in their
environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit, urlunsplit

from parkplan.errors import WorkspaceError
from parkplan.i18n import t

#: Seconds the external PostgreSQL tools may run before they are stopped.
TOOL_TIMEOUT = 6 * 3600


def libpq_connection(url: str) -> tuple[str, dict[str, str]]:
    """Split a workspace URL into a password-free ``--dbname`` URI and an environment.

    Parameters
    ----------
    url : str
        ``postgresql://user:password@host:port/db?options=…`` (``postgresql+psycopg`` too).

    Returns
    -------
    tuple of (str, dict)
        The URI to pass as ``--dbname`` (no password in it), and the environment for the
        tool: the caller's, with ``PGPASSWORD`` set when the URL holds a password.
    """
    parts = urlsplit(url)
    env = {k: v for k, v in os.environ.items() if k != "PGPASSWORD"}
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
    elif "PGPASSWORD" in os.environ:
        env["PGPASSWORD"] = os.environ["PGPASSWORD"]
    netloc = parts.netloc.rsplit("@", 1)
    if len(netloc) == 2:
        userinfo = netloc[0].split(":", 1)[0]
        host = f"{userinfo}@{netloc[1]}"
    else:
        host = netloc[0]
    query = parse_qs(parts.query)
    if "password" in query:  # libpq also takes ?password=; move it to the environment
        env["PGPASSWORD"] = query["password"][-1]
        kept = [p for p in parts.query.split("&") if not p.startswith("password=")]
        parts = parts._replace(query="&".join(kept))
    return urlunsplit(("postgresql", host, parts.path, parts.query, "")), env


def url_schema(url: str) -> str | None:
    """Return the first schema of the URL's ``search_path`` option, or ``None``.

    An unquoted name is folded to lower case, as PostgreSQL does; ``$user`` gives ``None``.
    """
    options = " ".join(parse_qs(urlsplit(url).query).get("options", []))
    # libpq splits options at spaces; a backslash keeps the next character.
    match = re.search(r"search_path\s*=\s*((?:\\.|\S)+)", options)
    if not match:
        return None
    value = re.sub(r"\\(.)", r"\1", match.group(1))
    first = re.match(r'\s*("(?:[^"]|"")*"|[^,]*)', value).group(1).strip()
    if first.startswith('"') and first.endswith('"') and len(first) >= 2:
        return first[1:-1].replace('""', '"') or None
    if not first or first == "$user":
        return None
    return first.lower()


def find_tool(name: str) -> str:
    """Return the path of a PostgreSQL client tool on ``PATH``.

    Raises
    ------
    WorkspaceError
        If it is not installed.
    """
    found = shutil.which(name)
    if found is None:
        raise WorkspaceError(t("store.tool.missing", "en", name=name))
    return found


def tool_major(path: str) -> int:
    """Return the major version of a PostgreSQL client tool (``pg_dump --version``)."""
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or not match:
        raise WorkspaceError(t("store.tool.no_version", "en", path=path, reason=out.stderr.strip()))
    return int(match.group(1))


def run_tool(args: list[str], env: dict[str, str], what: str, **kwargs) -> str:
    """Run a tool to its end within :data:`TOOL_TIMEOUT`; return its standard output.

    Raises
    ------
    WorkspaceError
        If it fails (naming ``what`` and the end of its error output) or times out.
    """
    try:
        proc = subprocess.run(
            args,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TOOL_TIMEOUT,
            **kwargs,
        )
    except subprocess.TimeoutExpired:
        raise WorkspaceError(
            t("store.tool.timeout", "en", what=what, seconds=TOOL_TIMEOUT)
        ) from None
    if proc.returncode != 0:
        raise WorkspaceError(
            t("store.tool.failed", "en", what=what, reason=tool_message(proc.stderr))
        )
    return proc.stdout


def tool_message(stderr: str) -> str:
    """Return the last lines of a tool's error output, joined, for an error message."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "; ".join(lines[-5:]) or "no message"


def pipe_restore(
    restore_args: list[str],
    psql_args: list[str],
    env: dict[str, str],
    prelude: str,
    postlude: str,
    work: Path,
) -> None:
    """Run ``pg_restore … | psql`` with our prelude and postlude, in one transaction.

    The prelude opens the transaction and the postlude commits it; the postlude is sent
    only when pg_restore succeeded, so a damaged archive or any SQL error (psql stops at
    the first) ends the connection without ``COMMIT`` and the server rolls everything back.
    """
    restore_err = (work / "pg_restore.err").open("w+b")
    psql_err = (work / "psql.err").open("w+b")
    with restore_err, psql_err:
        producer = subprocess.Popen(
            restore_args, env=env, stdout=subprocess.PIPE, stderr=restore_err
        )
        consumer = subprocess.Popen(
            psql_args, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_err
        )
        committed = False
        try:
            try:
                consumer.stdin.write(prelude.encode())
                shutil.copyfileobj(producer.stdout, consumer.stdin, 1 << 20)
                restore_rc = producer.wait(timeout=TOOL_TIMEOUT)
                if restore_rc == 0:
                    consumer.stdin.write(postlude.encode())
                    committed = True
            except BrokenPipeError:
                producer.kill()
                restore_rc = producer.wait()
            if not committed:
                # End psql without COMMIT: it must not run to the end of its input.
                consumer.kill()
            else:
                consumer.stdin.close()
            psql_rc = consumer.wait(timeout=TOOL_TIMEOUT)
        except BaseException:
            producer.kill()
            consumer.kill()
            producer.wait()
            consumer.wait()
            raise
        finally:
            producer.stdout.close()
            if not consumer.stdin.closed:
                try:
                    consumer.stdin.close()
                except BrokenPipeError:
                    pass
        restore_err.seek(0)
        psql_err.seek(0)
        restore_msg = restore_err.read().decode(errors="replace")
        psql_msg = psql_err.read().decode(errors="replace")
    if committed and psql_rc == 0:
        return
    if restore_rc != 0 and "ERROR:" not in psql_msg:
        raise WorkspaceError(t("store.tool.restore_failed", "en", reason=tool_message(restore_msg)))
    message = tool_message(psql_msg)
    match = re.search(r"ERROR:\s+parkplan: (.*)", psql_msg)
    if match:
        message = match.group(1).strip()
    raise WorkspaceError(t("store.tool.rolled_back", "en", reason=message))


__all__ = [
    "TOOL_TIMEOUT",
    "find_tool",
    "libpq_connection",
    "pipe_restore",
    "run_tool",
    "tool_major",
    "tool_message",
    "url_schema",
]
