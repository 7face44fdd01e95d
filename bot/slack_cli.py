"""`pressbot slack` (the bot in Socket Mode) and `pressbot feedback export`."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.slack_feedback import FeedbackStore, default_path
from pressbot.config import Settings
from pressbot.errors import ConfigError

if TYPE_CHECKING:
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler

# The Socket Mode client notices a dead connection only through its pings: a ping that fails 5
# checks in a row, or no pong for 4 intervals. Bolt's default interval (10 s) took ~50 s to see
# that the server had gone (and reconnect); at 1 s it reconnects ~5 s after the server is back.
PING_INTERVAL_S = 1.0


def socket_mode_handler(app: App, app_token: str) -> SocketModeHandler:
    """Bolt's Socket Mode handler (slack_sdk's built-in client), reconnecting on its own."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(app, app_token, auto_reconnect_enabled=True, ping_interval=PING_INTERVAL_S)


def register(cli: click.Group, settings_of: Callable[..., Settings]) -> None:
    @cli.command()
    @click.pass_context
    def slack(ctx: click.Context) -> None:
        """Run the Slack bot in Socket Mode (no public URL needed).

        Needs SLACK_BOT_TOKEN (xoxb-…) and SLACK_APP_TOKEN (xapp-…, connections:write);
        PRESSBOT_SLACK_API_URL points it at a Slack stand-in. For HTTP mode, the API server
        serves /slack/events instead. Set-up and the app manifest: docs/slack.md.

        \b
        Examples:
          SLACK_BOT_TOKEN=xoxb-1-2-abc SLACK_APP_TOKEN=xapp-1-A1-3-def pressbot slack
          pressbot --data-dir .pressbot-demo -v slack
        """
        from slack_sdk.errors import SlackApiError

        from bot.slack_app import create_slack_app, require_secret
        from pressbot.engine import Engine

        settings = settings_of(ctx)
        # check both tokens before loading the index and the model, which takes a while
        require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN", prefix="xoxb-")
        app_token = require_secret(settings.slack_app_token, "SLACK_APP_TOKEN", prefix="xapp-")
        engine = Engine.from_settings(settings)
        engine.warm_up()
        app = create_slack_app(settings, engine)
        handler = socket_mode_handler(app, app_token)
        try:
            handler.connect()
        except SlackApiError as exc:
            handler.close()
            app.close()
            raise ConfigError(
                f"Slack refused to open a Socket Mode connection ({exc.response.get('error')}); "
                "check SLACK_APP_TOKEN (an app-level xapp- token with connections:write) and that "
                "Socket Mode is enabled for the app; see docs/slack.md"
            ) from None
        click.echo(f"pressbot is connected to Slack in Socket Mode ({settings.slack_api_url}); Ctrl-C stops it.",
                   err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            handler.close()
            app.close()  # its answer and sender threads stop with it

    @cli.group()
    def feedback() -> None:
        """Feedback given on Slack answers (the helpful / not helpful buttons)."""

    @feedback.command("export")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout.")
    @click.pass_context
    def export(ctx: click.Context, out: Path | None) -> None:
        """Write the answers judged "not helpful" as golden-set candidates (JSON Lines).

        Each line is in the golden-set format with empty `must_include` and `sources` and
        `needs_review: true`: a curator fills in the reference answer, facts and sources,
        then adds the line to a golden file. The bot's answer and citations come along
        (`bot_answer`, `bot_citations`) for reference.

        \b
        Examples:
          pressbot feedback export > candidates.jsonl
          pressbot --data-dir .pressbot feedback export --out evals/golden/candidates.jsonl
        """
        settings = settings_of(ctx)
        path = default_path(settings)
        if not path.exists():
            raise ConfigError(
                f"no feedback database at {path}; `pressbot slack` records feedback there "
                "(or set PRESSBOT_FEEDBACK_DB / --data-dir to where it is)"
            )
        store = FeedbackStore(path)
        if out is None:
            n = store.export_golden(sys.stdout)
        else:
            try:
                with out.open("w", encoding="utf-8") as fh:
                    n = store.export_golden(fh)
            except OSError as exc:
                raise click.BadParameter(f"cannot write {out}: {exc.strerror or exc}", param_hint="--out") from None
        click.echo(f"{n} golden-set candidate(s) written to {out or 'stdout'}", err=True)
