"""What stops ``distbot`` from starting, said in one line: a database it cannot use, an
address it cannot listen on, the shipped demo secrets on an address other machines reach.

Each check returns (or raises with) a sentence naming what to change; the CLI prints it as
``error: …`` and exits 1, never with a traceback.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from bot.base.config import Settings
    from core.problems import Problem

# The values config.yaml ships with: fine on 127.0.0.1 for a first look, known to everyone.
DEMO_WEBHOOK_SECRET = "demo-webhook-secret"
DEMO_ADMIN_TOKEN = "demo-admin-token"


HINT = "set database.url in the configuration or DISTBOT_DATABASE_URL"


class StartupError(Exception):
    """The bot cannot start as configured; the message says what to change."""


def is_loopback(host: str) -> bool:
    """True only for addresses other machines cannot reach: 127.0.0.0/8, ::1, localhost.
    ``0.0.0.0``, ``::`` and any other name count as reachable."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def demo_secrets(settings: Settings) -> list[tuple[str, str]]:
    """The shipped demo secrets still in effect: (config path, environment variable)."""
    found = []
    if settings.webhook_secret == DEMO_WEBHOOK_SECRET:
        found.append(("webhook.secret", "DISTBOT_WEBHOOK_SECRET"))
    if settings.admin_token == DEMO_ADMIN_TOKEN:
        found.append(("admin.token", "DISTBOT_ADMIN_TOKEN"))
    if settings.raw.transport.kind == "wecom":
        from bot.base.config import DEMO_WECOM_AES_KEY, DEMO_WECOM_SECRET, DEMO_WECOM_TOKEN

        for path, variable, value, demo in (
            ("transport.wecom.secret", "DISTBOT_WECOM_SECRET", settings.wecom_secret, DEMO_WECOM_SECRET),
            ("transport.wecom.token", "DISTBOT_WECOM_TOKEN", settings.wecom_token, DEMO_WECOM_TOKEN),
            ("transport.wecom.aes_key", "DISTBOT_WECOM_AES_KEY", settings.wecom_aes_key, DEMO_WECOM_AES_KEY),
        ):
            if value == demo:
                found.append((path, variable))
    return found


def refuse_demo_secrets(settings: Settings, host: str) -> None:
    """Anyone who has read config.yaml could sign orders or read the ops API with the demo
    values: they are refused on any address but loopback."""
    found = demo_secrets(settings)
    if found and not is_loopback(host):
        names = " and ".join(f"{path} ({variable})" for path, variable in found)
        raise StartupError(
            f"refusing to listen on {host} with the demo {names} shipped in config.yaml: anyone could sign orders"
            " or read the ops API; set your own secret (e.g. export DISTBOT_ADMIN_TOKEN=$(openssl rand -hex 24))"
            " or listen on 127.0.0.1"
        )


def secret_warnings(settings: Settings) -> list[Problem]:
    """``check-config``'s warnings about the demo secrets (paths as in the file, for its line)."""
    from core.problems import Problem

    return [
        Problem(
            path,
            f"the demo value shipped with distbot: fine on 127.0.0.1, refused on any other address;"
            f" set {variable} or {path} to a secret of your own",
        )
        for path, variable in demo_secrets(settings)
    ]


def listen_problem(host: str, port: int, error: OSError) -> StartupError:
    reason = error.strerror or str(error)
    if error.errno == errno.EADDRINUSE:
        reason += " (another process has it: stop it or pass --port)"
    return StartupError(f"cannot listen on {host}:{port}: {reason}")


def database_problem(error: BaseException, url: str) -> StartupError | None:
    """A database that cannot be opened, as one sentence; None when ``error`` is something
    else (a bug, which keeps its traceback)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return StartupError(f"the database URL {url!r} is not a URL (e.g. postgresql+asyncpg://user@host/db)")
    where, hint = _where(parsed), HINT
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_problem(error, parsed)
    if isinstance(error, socket.gaierror):
        return StartupError(f"cannot reach {where}: the host {parsed.host!r} is not known; {hint}")
    if isinstance(error, ConnectionRefusedError) or (
        isinstance(error, OSError) and "Connect call failed" in str(error)
    ):
        return StartupError(
            f"cannot reach {where}: nothing answers on {parsed.host}:{parsed.port or 5432}"
            f" (is PostgreSQL running there, on that port?); {hint}"
        )
    if isinstance(error, (TimeoutError, OSError)):
        return StartupError(f"cannot reach {where}: {_first_line(error)}; {hint}")
    if isinstance(error, DBAPIError):
        cause = error.orig if error.orig is not None else error
        name = type(getattr(cause, "__cause__", None) or cause).__name__
        text = _first_line(cause)
        if name == "InvalidCatalogNameError" or ("does not exist" in text and "database" in text):
            return StartupError(
                f"{where} does not exist: create it (createdb -h {parsed.host or 'localhost'}"
                f" {parsed.database}) or {hint}"
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return StartupError(f"{where} refused the login: {text}; check the user and password in the URL")
        if error.connection_invalidated or "connect" in text.lower():
            return StartupError(f"cannot open {where}: {text}; {hint}")
    return None


def database_url_problem(error: Exception, url: str) -> StartupError:
    """A database URL the engine cannot even be made from."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        shown = repr(url) if "@" not in url else "(not a URL)"  # a password may sit before the @
    return StartupError(
        f"cannot use the database URL {shown}: {_first_line(error)}; distbot speaks"
        " sqlite+aiosqlite:///FILE and postgresql+asyncpg://USER@HOST/DB"
    )


def missing_sqlite_folder(url: str) -> StartupError | None:
    """Checked before connecting: SQLite cannot create a file in a folder that does not exist
    (and a failed connect leaves aiosqlite's worker thread to finish after the loop ends)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    return _missing_folder(parsed)


def _where(parsed: URL) -> str:
    return f"the database at {parsed.render_as_string(hide_password=True)}"


def _missing_folder(parsed: URL) -> StartupError | None:
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    folder = Path(database).expanduser().absolute().parent
    if folder.is_dir():
        return None
    return StartupError(f"cannot open {_where(parsed)}: the folder {folder} does not exist; create it or {HINT}")


def _sqlite_problem(error: BaseException, parsed: URL) -> StartupError | None:
    from sqlalchemy.exc import DBAPIError

    if not isinstance(error, (DBAPIError, OSError)):
        return None
    missing = _missing_folder(parsed)
    if missing is not None:
        return missing
    text = _first_line(error.orig if isinstance(error, DBAPIError) and error.orig is not None else error)
    if isinstance(error, OSError) or any(s in text for s in ("unable to open", "readonly", "not a database")):
        return StartupError(f"cannot open {_where(parsed)}: {text}; {HINT}")
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
