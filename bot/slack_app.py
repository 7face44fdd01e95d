"""The Slack face: a slack-bolt App that answers questions with `engine.answer()`.

It answers @mentions (`app_mention`, or a channel `message` that mentions the bot), direct
messages (`message` with channel_type `im`) and `/ask question`. Each question gets exactly
one reply, in its thread: "Searching the archive…" at once, then replaced (`chat.update`)
by the answer with its sources and feedback buttons; every Slack fault on the way still ends
in one answer or one apology (see `_Reply`). Bolt acknowledges events before the
listeners run (process_before_response=False), so a slow answer never delays the ack;
`/ask` acks first, then answers through `respond`.

Slack's rules (docs/design.md), as Bolt global middleware before any listener runs
(`_install_filters`): other bots' messages, edits and other message subtypes, and the bot's own
messages are ignored, and so are channel messages that do not mention the bot; retries and the
app_mention + message pair are deduplicated (`slack_dedupe`). 429s are retried after
Retry-After by slack_sdk's RateLimitErrorRetryHandler; posting is paced to about one message
per second per channel, in a queue per channel that holds no thread while it waits
(`ChannelQueues`); Slack API errors are logged with their context, never raised; a failure
while answering posts a short apology in the thread.
`SlackApp.close()` stops its thread pools (the server's lifespan, or `pressbot slack`, calls it).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeGuard
from urllib.error import URLError

from pydantic import SecretStr
from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.slack_dedupe import Deduper, event_keys, make_deduper
from bot.slack_feedback import FeedbackStore
from bot.slack_format import (
    APOLOGY_TEXT,
    FEEDBACK_ACTIONS,
    POINTER_TEXT,
    PROGRESS_TEXT,
    answer_message,
    notice_message,
    unescape,
)
from pressbot.config import Settings
from pressbot.engine import Engine
from pressbot.errors import ConfigError, QueryError
from pressbot.types import Answer

log = logging.getLogger(__name__)

USAGE_TEXT = "Ask me about the press releases, e.g. “Which countries receive the $180 million program?”"
THANKS_TEXT = {"helpful": "Thanks, noted: helpful.", "not_helpful": "Thanks, noted: not helpful. We will look into it."}
SETUP_DOC = "see docs/slack.md"
HINTS = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…) with the connections:write scope, from Basic Information",
    "SLACK_SIGNING_SECRET": "the Signing Secret from the app's Basic Information > App Credentials",
}
ERROR_HINTS = {
    "not_in_channel": "invite the bot to the channel (/invite @pressbot)",
    "channel_not_found": "the channel is gone or the bot cannot see it",
    "invalid_auth": "the bot token was rejected; check SLACK_BOT_TOKEN",
    "not_authed": "no token was sent; check SLACK_BOT_TOKEN",
    "account_inactive": "the bot token was revoked; reinstall the app",
}
_PLACEHOLDER = re.compile(r"\.\.\.|…|change[-_ ]?me|your[-_ ]|replace|placeholder|^<|^todo$|^none$|^x+$", re.IGNORECASE)
_ANSWERABLE_SUBTYPES = {None, "thread_broadcast", "file_share"}
ANSWER_WORKERS = 4  # engine calls at once; the engine is CPU-bound, more would only queue on the cores
SENDERS = 8  # Slack calls at once (I/O-bound; pacing waits hold none of them)
CLOSE_GRACE_S = 5.0  # at shut-down, how long the questions under way get to be answered and posted
# errors after which nothing can be posted in the channel: the question ends there, logged
UNREACHABLE = {"not_in_channel", "channel_not_found", "is_archived", "invalid_auth", "not_authed",
               "account_inactive", "token_revoked", "token_expired", "missing_scope", "no_permission",
               "restricted_action", "team_access_not_granted"}


class SlackUnreachableError(ConfigError):
    """The Slack Web API could not be reached (a network fault, worth trying again; not a bad token)."""


def require_secret(value: SecretStr | None, name: str, *, prefix: str | None = None) -> str:
    """The secret's value, or a ConfigError naming the variable when it is missing or a placeholder."""
    raw = value.get_secret_value().strip() if value is not None else ""
    where = f"{name} (or PRESSBOT_{name})"
    hint = f"set it to {HINTS.get(name, 'the value from your Slack app')}; {SETUP_DOC}"
    if not raw:
        raise ConfigError(f"{where} is not set; {hint}")
    bare_prefix = prefix is not None and raw.rstrip("-") == prefix.rstrip("-")
    if _PLACEHOLDER.search(raw) or bare_prefix:
        raise ConfigError(f"{where} is a placeholder ({raw!r}), not a real value; {hint}")
    if prefix and not raw.startswith(prefix):
        raise ConfigError(f"{where} should start with {prefix!r} (it starts with {raw[:5]!r}); {hint}")
    return raw


def build_web_client(settings: Settings, token: str) -> WebClient:
    """The Web API client: base URL from settings, retries on connection errors and on 429."""
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=30,
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=3)],
    )


class ChannelQueues:
    """Slack calls for each channel: posts in order and about one a second per channel (Slack's
    posting limit), sent by a few sender threads.

    A post waiting for its channel's next slot holds no thread (a timer wakes the channel), so
    a DM never waits behind another channel's backlog and an answer worker never sleeps for
    pacing. `call` runs an unpaced call (chat.update, chat.delete) at once. `close` lets what
    is queued go out (for a while), then stops the senders; later calls are dropped, logged.
    """

    def __init__(self, interval_s: float = 1.0, senders: int = SENDERS) -> None:
        self.interval_s = interval_s
        self._pool = ThreadPoolExecutor(max_workers=senders, thread_name_prefix="pressbot-slack-send")
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified when a job ends (for `close`)
        self._queues: dict[str, deque[Callable[[], None]]] = {}
        self._busy: set[str] = set()  # channels with a post being sent, or waiting for their slot
        self._next: dict[str, float] = {}  # channel -> earliest time of its next post
        self._running = 0  # jobs handed to the senders and not finished
        self._closed = False

    def post(self, channel: str, job: Callable[[], None]) -> None:
        with self._lock:
            if self._refused(channel):
                return
            self._queues.setdefault(channel, deque()).append(job)
            self._pump(channel)

    def call(self, job: Callable[[], None]) -> None:
        with self._lock:
            if not self._refused(None):
                self._submit(self._guarded, job)

    def _refused(self, channel: str | None) -> bool:
        if self._closed:
            log.warning("Slack call dropped (channel=%s): the bot is shutting down", channel)
        return self._closed

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Hand a job to the senders (lock held)."""
        self._running += 1
        self._pool.submit(self._run, fn, *args)

    def _run(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        finally:
            with self._lock:
                self._running -= 1
                self._changed.notify_all()

    def _pump(self, channel: str) -> None:
        """Start the channel's next post if it may go now, or set a timer for its slot (lock held)."""
        if channel in self._busy:
            return
        queue = self._queues.get(channel)
        now = time.monotonic()
        if not queue:
            self._queues.pop(channel, None)
            if len(self._next) > 1000:  # forget idle channels
                self._next = {c: t for c, t in self._next.items() if t > now}
            return
        if self._closed:
            log.warning("%d Slack post(s) dropped (channel=%s): the bot is shutting down", len(queue), channel)
            self._queues.pop(channel, None)
            return
        self._busy.add(channel)
        wait = self._next.get(channel, now) - now
        if wait > 0:
            timer = threading.Timer(wait, self._wake, (channel,))
            timer.daemon = True
            timer.start()
            return
        self._next[channel] = now + self.interval_s
        self._submit(self._send, channel, queue.popleft())

    def _wake(self, channel: str) -> None:
        with self._lock:
            self._busy.discard(channel)
            self._pump(channel)
            self._changed.notify_all()

    def _send(self, channel: str, job: Callable[[], None]) -> None:
        try:
            self._guarded(job)
        finally:
            with self._lock:
                self._busy.discard(channel)
                self._pump(channel)

    @staticmethod
    def _guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # a bug must show in the log, not vanish in a Future
            log.exception("Slack send task failed")

    def close(self, timeout_s: float = 0.0) -> None:
        """Wait up to `timeout_s` for every queued call to go out, then stop the senders."""
        with self._lock:
            self._changed.wait_for(lambda: not (self._running or self._busy or self._queues), timeout_s)
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self.close(0.0)


def _error_code(exc: Exception) -> str:
    if isinstance(exc, SlackApiError) and exc.response is not None:
        return str(exc.response.get("error") or f"http_{exc.response.status_code}")
    return type(exc).__name__


def _api_error(method: str, exc: Exception, **context: Any) -> None:
    """Log a failed Slack call with what was being done; never raise."""
    where = " ".join(f"{k}={v}" for k, v in context.items() if v)
    if isinstance(exc, SlackApiError):
        code = _error_code(exc)
        status = exc.response.status_code if exc.response is not None else None
        hint = ERROR_HINTS.get(code, "")
        shown = f"{code} (HTTP {status})" if status and status != 200 else code
        log.error("Slack %s failed: %s (%s)%s", method, shown, where, f"; {hint}" if hint else "")
    else:
        log.error("Slack %s failed: %s: %s (%s)", method, type(exc).__name__, exc, where)


class _Reply:
    """One question's reply in its thread, ending in one answer or one apology.

    The progress note is queued on the channel at once; the answer, computed meanwhile,
    replaces it (chat.update). If the answer is ready before the note's turn, the answer is
    posted alone. A refused note (a 500, a 429 after the retries) does not drop the question:
    the answer is posted anew. A failed update posts the answer anew and deletes the note (or
    edits it to a pointer), so no stale "Searching the archive…" is left. Only a channel the
    bot cannot post to (`UNREACHABLE`) ends without a reply, logged.
    """

    def __init__(self, client: WebClient, queues: ChannelQueues, channel: str, thread_ts: str) -> None:
        self.client, self.queues, self.channel, self.thread_ts = client, queues, channel, thread_ts
        self._lock = threading.Lock()
        self._note = "queued"  # -> "sending" -> "posted" | "refused" | "unreachable"; or "skipped"
        self.note_ts: str | None = None
        self._final: dict[str, Any] | None = None  # the answer or the notice, once known

    def begin(self) -> None:
        self.queues.post(self.channel, self._first_post)

    @property
    def unreachable(self) -> bool:
        return self._note == "unreachable"

    def finish(self, message: dict[str, Any]) -> None:
        """The answer (or a notice) is ready: it goes out once the note has been dealt with."""
        with self._lock:
            if self._final is not None:
                return  # finished already (one reply per question)
            self._final = message
            note = self._note
        if note in ("posted", "refused"):
            self.queues.call(lambda: self._replace_note(message))
        elif note == "unreachable":
            self._log_unreachable()
        # "queued" / "sending": the first post takes care of it

    def _log_unreachable(self) -> None:
        log.error("no reply in channel=%s thread_ts=%s: Slack refused the progress note (see above)",
                  self.channel, self.thread_ts)

    def _first_post(self) -> None:
        with self._lock:
            final = self._final
            self._note = "sending" if final is None else "skipped"
        if final is not None:  # the answer came before the note's turn: no note needed
            self._post_final(final, note_ts=None)
            return
        ts, code = self._post(notice_message(PROGRESS_TEXT))
        with self._lock:
            self.note_ts = ts
            self._note = note = "posted" if ts else ("unreachable" if code in UNREACHABLE else "refused")
            final = self._final
        if final is not None and note == "unreachable":
            self._log_unreachable()
        elif final is not None:
            self._replace_note(final)

    def _replace_note(self, message: dict[str, Any]) -> None:
        if self.note_ts is not None:
            try:
                self.client.chat_update(channel=self.channel, ts=self.note_ts, **message)
                return
            except Exception as exc:  # noqa: BLE001 - logged; the answer is posted anew instead
                _api_error("chat.update", exc, channel=self.channel, ts=self.note_ts)
        else:
            log.warning("answering anyway in channel=%s thread_ts=%s: the progress note was refused",
                        self.channel, self.thread_ts)
        note_ts = self.note_ts
        self.queues.post(self.channel, lambda: self._post_final(message, note_ts=note_ts))

    def _post_final(self, message: dict[str, Any], note_ts: str | None) -> None:
        ts, code = self._post(message)
        if ts is None and code not in UNREACHABLE and message.get("text") != APOLOGY_TEXT:
            ts, code = self._post(notice_message(APOLOGY_TEXT))  # the answer itself was refused
        if note_ts is not None:
            self._drop_note(note_ts, answered=ts is not None)

    def _drop_note(self, note_ts: str, *, answered: bool) -> None:
        """Delete the stale progress note; if Slack will not, edit it to point at the reply."""
        try:
            self.client.chat_delete(channel=self.channel, ts=note_ts)
            return
        except Exception as exc:  # noqa: BLE001
            _api_error("chat.delete", exc, channel=self.channel, ts=note_ts)
        text = POINTER_TEXT if answered else APOLOGY_TEXT
        try:
            self.client.chat_update(channel=self.channel, ts=note_ts, **notice_message(text))
        except Exception as exc:  # noqa: BLE001
            _api_error("chat.update", exc, channel=self.channel, ts=note_ts)

    def _post(self, message: dict[str, Any]) -> tuple[str | None, str | None]:
        """(ts, None) when posted, (None, the error code) when Slack refused."""
        try:
            resp = self.client.chat_postMessage(
                channel=self.channel, thread_ts=self.thread_ts, unfurl_links=False, unfurl_media=False, **message
            )
            return str(resp["ts"]), None
        except Exception as exc:  # noqa: BLE001 - a Slack failure is logged, never crashes the app
            _api_error("chat.postMessage", exc, channel=self.channel, thread_ts=self.thread_ts)
            return None, _error_code(exc)


def question_text(text: str, bot_user_id: str | None) -> str:
    """The question in a message: the bot's mention removed, Slack's escaping undone."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return " ".join(unescape(text).split())


def _from_a_bot(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id")) or event.get("subtype") == "bot_message" or bool(event.get("bot_profile"))


def _mentions_the_bot(event: dict[str, Any], bot_user_id: str | None) -> bool:
    return bool(bot_user_id) and f"<@{bot_user_id}" in (event.get("text") or "")


def _is_message(event: dict[str, Any] | None) -> TypeGuard[dict[str, Any]]:
    """An event that carries a user's message: what the question filters look at."""
    return event is not None and event.get("type") in ("app_mention", "message")


def _install_filters(app: App, deduper: Deduper) -> None:
    """Bolt global middleware that drops every message event that is not a new question.

    They run in this order for each request, after Bolt's own (signature, authorization, the
    bot's own events by bot id). A filter that drops an event acks it (so Slack does not deliver
    it again) and does not call `next_()`, so no listener sees it. Commands, button clicks and
    other events pass. The dedupe comes last, so only questions use up its memory (and Redis).
    """

    @app.middleware
    def ignore_other_bots(event: dict[str, Any] | None, ack: Ack, next_: Callable[[], None]) -> BoltResponse | None:
        if _is_message(event) and _from_a_bot(event):
            return ack()
        next_()
        return None

    @app.middleware
    def ignore_subtypes(event: dict[str, Any] | None, ack: Ack, next_: Callable[[], None]) -> BoltResponse | None:
        # edits, deletions, joins...: no new question (a broadcast thread reply or a file's text is one)
        if _is_message(event) and event.get("subtype") not in _ANSWERABLE_SUBTYPES:
            return ack()
        next_()
        return None

    @app.middleware
    def ignore_own_messages(event: dict[str, Any] | None, context: BoltContext, ack: Ack,
                            next_: Callable[[], None]) -> BoltResponse | None:
        if _is_message(event) and event.get("user") and event.get("user") == context.bot_user_id:
            return ack()
        next_()
        return None

    @app.middleware
    def only_questions(event: dict[str, Any] | None, context: BoltContext, ack: Ack,
                       next_: Callable[[], None]) -> BoltResponse | None:
        # a DM is a question; a channel `message` only when it mentions the bot (in case app_mention
        # is not subscribed; when it is, the pair is deduplicated on channel + ts)
        if (_is_message(event) and event.get("type") == "message" and event.get("channel_type") != "im"
                and not _mentions_the_bot(event, context.bot_user_id)):
            return ack()
        next_()
        return None

    @app.middleware
    def drop_duplicates(body: dict[str, Any], event: dict[str, Any] | None, ack: Ack,
                        next_: Callable[[], None]) -> BoltResponse | None:
        if _is_message(event) and not deduper.first_time(event_keys(body, event)):
            log.info("duplicate delivery ignored: event_id=%s channel=%s ts=%s",
                     body.get("event_id"), event.get("channel"), event.get("ts"))
            return ack()
        next_()
        return None


class SlackApp(App):
    """Bolt's App with the thread pools that answer and post for it; `close()` stops them."""

    answers: ThreadPoolExecutor
    pending: set[Future[None]]  # questions handed to `answers` and not finished
    owned_queues: ChannelQueues | None = None  # the channel queues it made (those passed in are the caller's)

    def close(self, grace_s: float = CLOSE_GRACE_S) -> None:
        """No new questions; those under way get `grace_s` in all to be answered and posted, then
        the answer and sender threads stop (what is still queued is dropped, logged)."""
        deadline = time.monotonic() + grace_s
        self.answers.shutdown(wait=False)  # refuses new questions; the queued ones still run
        _, late = wait(set(self.pending), timeout=grace_s)
        self.answers.shutdown(wait=False, cancel_futures=True)
        if late:
            log.warning("Slack is shutting down: %d question(s) still being answered were not waited for", len(late))
        if self.owned_queues is not None:
            self.owned_queues.close(max(0.0, deadline - time.monotonic()))


def create_slack_app(
    settings: Settings,
    engine: Engine,
    *,
    client: WebClient | None = None,
    feedback: FeedbackStore | None = None,
    deduper: Deduper | None = None,
    queues: ChannelQueues | None = None,
) -> SlackApp:
    """The Bolt app. Calls Slack's auth.test once (Bolt's token check): a rejected token is a ConfigError.

    `client` defaults to a WebClient for settings.slack_bot_token at settings.slack_api_url.
    The signing secret (HTTP mode) comes from settings; Socket Mode does not need it.
    """
    if client is None:
        client = build_web_client(settings, require_secret(settings.slack_bot_token, "SLACK_BOT_TOKEN", prefix="xoxb-"))
    feedback = feedback or FeedbackStore.from_settings(settings)
    deduper = deduper if deduper is not None else make_deduper(settings)  # an empty Deduper is falsy
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    try:
        app = SlackApp(client=client, signing_secret=secret, process_before_response=False)
    except BoltError as exc:
        cause = exc.__context__  # Bolt raises BoltError while handling auth.test's SlackApiError
        code = _error_code(cause) if isinstance(cause, SlackApiError) else ""
        if code not in UNREACHABLE:  # a 5xx, a 429 after the retries: Slack unwell, the token may be fine
            raise SlackUnreachableError(
                f"Slack's auth.test at {client.base_url} failed ({code or exc}); Slack may be having trouble"
            ) from None
        raise ConfigError(
            f"Slack rejected SLACK_BOT_TOKEN at {client.base_url} ({exc}); check the token, {SETUP_DOC}"
        ) from None
    except (URLError, OSError) as exc:
        raise SlackUnreachableError(
            f"cannot reach the Slack Web API at {client.base_url}: {exc}; check PRESSBOT_SLACK_API_URL and the network"
        ) from None

    # Answers run in a pool of their own, not in Bolt's listener threads: a busy engine then
    # never delays the ack of a slash command or a button click (Bolt waits for those acks,
    # in HTTP mode on the server's event loop).
    answers = app.answers = ThreadPoolExecutor(max_workers=ANSWER_WORKERS, thread_name_prefix="pressbot-answer")
    if queues is None:
        queues = app.owned_queues = ChannelQueues()
    _install_filters(app, deduper)

    app.pending = set()

    def in_background(fn: Callable[..., None], *args: Any, on_bug: Callable[[], None] | None = None) -> None:
        def run() -> None:
            try:
                fn(*args)
            except Exception:  # a bug must show in the log, not vanish in a Future
                log.exception("Slack answer task %s failed", fn.__name__)
                if on_bug is not None:  # after the log: whoever sees the apology finds the error logged
                    on_bug()

        try:
            future = answers.submit(run)
        except RuntimeError:  # closed: the server is shutting down
            log.warning("Slack question dropped: the bot is shutting down")
            return
        app.pending.add(future)
        future.add_done_callback(app.pending.discard)

    def answer(question: str) -> tuple[Answer | None, dict[str, Any] | None]:
        """(the answer, None) or (None, a message saying why there is none)."""
        if not question:
            return None, notice_message(USAGE_TEXT)
        try:
            return engine.answer(question), None
        except QueryError as exc:
            return None, notice_message(f"I could not answer that: {exc}")
        except Exception:
            log.exception("answering failed", extra={"event": "slack_answer_failed", "question": question})
            return None, notice_message(APOLOGY_TEXT)

    def record(ans: Answer, **where: str | None) -> str | None:
        try:
            return feedback.record_answer(ans, **where)
        except Exception:  # the answer still goes out, without feedback buttons
            log.exception("cannot record the answer for feedback in %s", feedback.path)
            return None

    def answer_in_thread(reply: _Reply, question: str, user: str | None) -> None:
        t0 = time.perf_counter()
        if reply.unreachable:  # Slack refused the progress note for good; the answer would be refused too
            reply.finish(notice_message(APOLOGY_TEXT))  # logs that the question ends without a reply
            return
        ans, notice = answer(question)
        if ans is not None:
            answer_id = record(ans, channel=reply.channel, thread_ts=reply.thread_ts, asked_by=user)
            reply.finish(answer_message(ans, answer_id=answer_id))
        else:
            reply.finish(notice or notice_message(APOLOGY_TEXT))
        log.info(
            "slack answer",
            extra={"event": "slack_answer", "channel": reply.channel, "thread_ts": reply.thread_ts,
                   "question": question, "answered": ans is not None, "abstained": ans.abstained if ans else None,
                   "latency_ms": round((time.perf_counter() - t0) * 1e3, 1)},
        )

    @app.event("app_mention")
    @app.event("message")  # DMs, and channel messages that mention the bot (the filters let only those by)
    def on_question(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        channel, ts = event["channel"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        question = question_text(event.get("text") or "", context.bot_user_id)
        reply = _Reply(client, queues, channel, thread_ts)
        reply.begin()  # the progress note, queued on the channel; the answer is computed meanwhile
        # after a bug (logged first), the apology: every question ends in one answer or one apology
        in_background(answer_in_thread, reply, question, event.get("user"),
                      on_bug=lambda: reply.finish(notice_message(APOLOGY_TEXT)))

    @app.command("/ask")
    def on_ask(ack: Callable[..., None], command: dict[str, Any], respond: Respond) -> None:
        question = question_text(command.get("text") or "", None)
        if not question:
            ack(response_type="ephemeral", text=USAGE_TEXT)
            return
        ack(response_type="ephemeral", text=PROGRESS_TEXT)
        in_background(answer_command, respond, command, question)

    def answer_command(respond: Respond, command: dict[str, Any], question: str) -> None:
        ans, notice = answer(question)
        if ans is not None:
            answer_id = record(ans, channel=command.get("channel_id"), asked_by=command.get("user_id"))
            message = answer_message(ans, answer_id=answer_id, asked_by=command.get("user_id"))
            _respond(respond, response_type="in_channel", unfurl_links=False, **message)
        else:
            _respond(respond, response_type="ephemeral", **(notice or notice_message(APOLOGY_TEXT)))

    @app.action(re.compile(r"^feedback_(helpful|not_helpful)$"))
    def on_feedback(ack: Callable[..., None], body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        verdict = FEEDBACK_ACTIONS[action["action_id"]]
        user = (body.get("user") or {}).get("id", "")
        try:
            shown = (body.get("message") or {}).get("text", "")
            stored = feedback.add_feedback(action.get("value", ""), user=user, verdict=verdict, answer_text=shown)
        except Exception:
            log.exception("cannot store feedback %s from %s in %s", verdict, user, feedback.path)
            return
        if not stored["known_answer"]:
            log.warning("feedback for an answer this store never recorded (answer_id=%s)", action.get("value"))
        log.info("slack feedback", extra={"event": "slack_feedback", "verdict": verdict, "user": user,
                                          "answer_id": action.get("value")})
        if body.get("response_url"):
            _respond(respond, response_type="ephemeral", replace_original=False, text=THANKS_TEXT[verdict])

    return app


def _respond(respond: Respond, **message: Any) -> None:
    try:
        resp = respond(**message)
        if resp.status_code != 200:
            log.error("Slack response_url post failed: HTTP %s %s", resp.status_code, resp.body)
    except Exception as exc:  # noqa: BLE001
        _api_error("response_url", exc)
