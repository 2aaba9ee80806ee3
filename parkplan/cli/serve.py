"""``parkplan serve``: the Panel app with sign-in; ``parkplan hash-password`` for its users."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from parkplan.cli.options import WorkspaceOption, say
from parkplan.i18n import both


def serve(
    workspace: WorkspaceOption = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port to listen on.")] = 5006,
    address: Annotated[
        str,
        typer.Option("--address", help="Address to listen on (keep 127.0.0.1 behind a TLS proxy)."),
    ] = "127.0.0.1",
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="FILE",
            help="JSON file of users and PBKDF2 password hashes (demo: "
            "data/demo-credentials.json; see docs/auth.md).",
        ),
    ] = None,
    cookie_secret_env: Annotated[
        str,
        typer.Option(
            "--cookie-secret-env",
            metavar="VAR",
            help="Environment variable holding the cookie secret (≥ 32 characters); "
            "unset: a random one, sign-ins end when the server stops.",
        ),
    ] = "PARKPLAN_COOKIE_SECRET",
    num_procs: Annotated[
        int, typer.Option("--num-procs", help="Server processes (0: one per core).")
    ] = 1,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-websocket-origin",
            metavar="HOST[:PORT]",
            help="Public host name(s) the app is reached under (behind a proxy).",
        ),
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="No sign-in: everyone reads public records, nobody writes."),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            metavar="PATH",
            help="Also write the server's log (requests, errors) to this file: rotated at "
            "10 MiB × 5 with one process; with several, rotate it externally "
            "(logrotate).",
        ),
    ] = None,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies/--no-secure-cookies",
            envvar="PARKPLAN_SECURE_COOKIES",
            help="Mark the sign-in cookie Secure (HTTPS only): set it behind a TLS proxy.",
        ),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Run the app's clock from this moment, YYYY-MM-DD[THH:MM] (Shanghai time; "
            "a date alone is "
            "taken at 12:00) instead of the real time: ratings, the as-of date and "
            "change stamps follow it, and every page says so. For demonstrations "
            "and tests; default the real clock.",
        ),
    ] = None,
    show: Annotated[bool, typer.Option("--show", help="Open a browser.")] = False,
):
    """Serve the app: overview, task boards, escalation desk, scenario studio (应用)."""
    from parkplan.errors import ParkplanError
    from parkplan.identity.credentials import load_credentials
    from parkplan.ui.state import parse_as_of
    from parkplan.web.server import configure_logging
    from parkplan.web.server import serve as run_server
    from parkplan.web.sessions import cookie_secret_from_env

    if credentials is None and not no_auth:
        raise ParkplanError(both("cli.serve.credentials"))
    try:
        start = parse_as_of(as_of) if as_of is not None else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--as-of") from None
    creds = load_credentials(credentials) if credentials is not None else None
    secret, from_env = cookie_secret_from_env(cookie_secret_env)
    if not from_env and creds is not None:
        say("cli.serve.random_secret", var=cookie_secret_env, err=True)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
    configure_logging(log_file, processes=num_procs)
    if start is not None:
        say("cli.serve.clock", start=f"{start:%Y-%m-%d %H:%M}", err=True)
    say("cli.serve.serving", url=f"http://{address}:{port}/", err=True)
    run_server(
        workspace,
        port=port,
        address=address,
        credentials=creds,
        cookie_secret=secret,
        num_procs=num_procs,
        origins=origin or (),
        secure_cookies=secure_cookies,
        as_of=start,
    )


def hash_password(
    user: Annotated[str, typer.Argument(help="User name (a tracker user).")],
    credentials: Annotated[
        Path | None,
        typer.Option(
            "--credentials",
            metavar="FILE",
            help="Add or replace the user in this credentials file.",
        ),
    ] = None,
):
    """Ask for a password and print its hash, or store it in a credentials file."""
    from parkplan.errors import ParkplanError
    from parkplan.identity.passwords import hash_password as make_hash

    password = typer.prompt(
        both("cli.password.prompt", user=user), hide_input=True, confirmation_prompt=True
    )
    if len(password) < 10:
        raise ParkplanError(both("cli.password.short"))
    encoded = make_hash(password)
    if credentials is None:
        typer.echo(json.dumps({user: {"password_hash": encoded}}, indent=2))
        return
    data = {"users": {}}
    if credentials.exists():
        data = json.loads(credentials.read_text(encoding="utf-8"))
    data.setdefault("users", {})[user] = {"password_hash": encoded}
    credentials.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    credentials.chmod(0o600)
    say("cli.password.stored", user=user, file=credentials)
