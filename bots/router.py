"""The shared chat router: every platform's messages take this one path.

dedupe → rate limit → workflow → stream the answer through the platform's
`Responder` → remember the message as answered. Platforms only translate
their wire format into `Incoming` and implement `Responder`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bots.access import AccessPolicy, Refusal
from bots.admin import AdminConsole, admin_command
from bots.base import Attachment, Incoming, Responder
from bots.delivery.claims import Claim, SeenKeys
from bots.delivery.dispatch import SessionQueue
from bots.delivery.inbox import Inbox
from bots.delivery.leases import Lease, token_lease
from bots.files import Taken, take
from bots.messages import chat_message
from bots.questions import Check, buttons, choice, expired, only_asked, read_key
from bots.voice import transcript
from config.schema import BotCommon
from engine.catalog import Catalog, StoredWorkflow
from engine.clock import utcnow
from engine.cluster.link import SharedState
from engine.cluster.ordering import RedisOrdering
from engine.errors import (
    ChatgateError,
    ExecutionCrashed,
    ExecutionFailed,
    FileNotTaken,
    RateLimited,
    Unavailable,
)
from engine.files.store import FileStore
from engine.ratelimit import RateLimiter
from engine.record import ExecutionRecord
from engine.run.executor import Executor
from engine.run.runner import Caller, Sink
from engine.sessions import Sessions
from engine.store.writer import Storage
from engine.workflow.events import Event, MessageDelta, MessageSent

log = logging.getLogger("chatgate.bots")

T = TypeVar("T")

TYPING_EVERY_S = 4.0  # Telegram shows "typing" for about 5 s, Discord for about 10 s


@dataclass
class Services:
    """The engine parts a chat bot uses; the gateway builds one and shares it."""

    catalog: Catalog
    executor: Executor
    sessions: Sessions
    limiter: RateLimiter
    storage: Storage  # where adapters keep what they received (bots.delivery.inbox)
    seen: SeenKeys
    # Replaced as a whole on config reload; read once per message.
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    console: AdminConsole | None = None  # admin chat commands; None: not offered
    shared: SharedState | None = None  # several processes on one Redis: leases for the adapters
    turns: RedisOrdering | None = None  # with ``shared``: each session's line across processes
    files: FileStore | None = None  # where files chat users send are kept (bots.files)


class ChatRouter:
    def __init__(self, services: Services, settings: BotCommon) -> None:
        self.services = services
        self.settings = settings  # replaced on reload; read once per message
        self._noticed_until: dict[str, float] = {}  # user -> end of the window we already told them about
        self._refused: set[str] = set()  # users already told they may not use this bot
        self._refused_under: AccessPolicy | None = None  # ...under these rules

    @property
    def source(self) -> str:
        return f"{self.settings.platform}:{self.settings.name}"

    # -- what an adapter needs of the shared services, for its bot ----------------

    @property
    def clustered(self) -> bool:
        """Several chatgate processes share one Redis (claims, leases, turns)."""
        return self.services.shared is not None

    def lease(self, purpose: str, token: str) -> Lease | None:
        """The lease on one use of the bot's token; None with one process (nothing to share)."""
        shared = self.services.shared
        return None if shared is None else token_lease(shared, purpose, token)

    def queue(self, handle: Callable[[T], Awaitable[None]], *, workers: int) -> SessionQueue[T]:
        """The bot's ordered per-session queue, in line with other processes' (`turns`)."""
        return SessionQueue(handle, workers=workers, turns=self.services.turns)

    def inbox(self) -> Inbox:
        """The bot's durable inbox (bots.delivery.inbox)."""
        return Inbox(self.services.storage, self.source)

    async def claim(self, key: str, *, strict: bool = False) -> Claim:
        """Claim an event for this process (bots.delivery.claims), by its key alone."""
        return await self.services.seen.claim(self.source, key, strict=strict)

    def refusal(self, msg: Incoming) -> Refusal | None:
        """Why the current access rules refuse this message's sender; None: they allow it."""
        return self.services.policy.refusal(self.settings, msg)

    # -- the path of one message ---------------------------------------------------

    async def already_handled(self, msg: Incoming) -> bool:
        """Answered already, or being answered by another chatgate process? If not, the
        message is now claimed by this one until `mark_handled` (see bots.delivery.claims)."""
        return not (await self.services.seen.claim(self.source, msg.dedup_key, msg.sent_at)).ours

    async def mark_handled(self, msg: Incoming) -> None:
        await self.services.seen.mark(self.source, msg.dedup_key)

    async def reset(self, session_id: str) -> int:
        await self.services.executor.cancel_waiting(session_id)  # a question it asked is void
        return await self.services.sessions.reset(session_id)

    async def allow(self, msg: Incoming, responder: Responder) -> bool:
        """Access rules first (a refused user costs no model call and no quota), then the
        user's limit in their tier; tell them once per window when over it."""
        policy = self.services.policy
        refusal = policy.refusal(self.settings, msg)
        if refusal is not None:
            await self._refuse(msg, refusal, responder, policy)
            return False
        tier = policy.tier(msg.user_key, self.settings.tier)
        try:
            await self.services.limiter.check(msg.user_key, tier)
            return True
        except Unavailable as e:
            # The shared limiter's Redis is away: say so at once rather than answer unlimited.
            log.warning("%s: not answering %s: %s", self.source, msg.dedup_key, e.message)
            await responder.notice(chat_message(e))
            return False
        except RateLimited as e:
            now = time.monotonic()
            if self._noticed_until.get(msg.user_key, 0.0) <= now:
                self._noticed_until[msg.user_key] = now + e.retry_after
                await responder.notice(chat_message(e))
            if len(self._noticed_until) > 10_000:  # forget expired windows now and then
                self._noticed_until = {k: v for k, v in self._noticed_until.items() if v > now}
            return False

    async def _refuse(
        self, msg: Incoming, refusal: Refusal, responder: Responder, policy: AccessPolicy
    ) -> None:
        """Said once per user and rules (an empty refusal text: never), so a refused user
        cannot make the bot talk by writing more."""
        if policy is not self._refused_under or len(self._refused) > 100_000:
            self._refused_under = policy  # new rules (a reload): worth saying once more
            self._refused.clear()
        if msg.user_key in self._refused:
            return
        self._refused.add(msg.user_key)
        log.info("%s: %s is %s; not answering", self.source, msg.user_key, refusal.reason)
        if refusal.text:
            await responder.notice(refusal.text)

    async def admin_reply(self, msg: Incoming) -> str | None:
        """The answer to an admin command from an admin in a private chat; None for
        anything else (then it is an ordinary message)."""
        console = self.services.console
        if console is None or not msg.private:
            return None
        command = admin_command(msg.text)
        if command is None or not self.services.policy.is_admin(msg.user_key):
            return None
        log.info("%s: admin %s: /%s", self.source, msg.user_key, command)
        if command == "status":
            return console.status()
        return await console.reload(f"{msg.user_key} via bot {self.settings.name}")

    async def handle(
        self,
        msg: Incoming,
        responder: Responder,
        *,
        reply: Callable[[], Awaitable[str]] | None = None,
        answer_in: Callable[[], Awaitable[Responder | None]] | None = None,
    ) -> None:
        """Answer one message end to end: every platform's messages take this path.
        Never raises for the user's or the model's faults.

        ``reply``: answer without the model (a command, a greeting); it runs only once the
        message passed de-duplication, access and rate limits. ``answer_in``: where the
        model's answer goes instead of ``responder`` (a new thread), opened only when the
        message will really be answered; None from it means: here after all."""
        if await self.already_handled(msg):
            log.info("%s: update %s was already answered; skipping", self.source, msg.dedup_key)
            return
        admin = await self.admin_reply(msg)
        if admin is not None:
            await responder.notice(admin)
        elif await self.allow(msg, responder):
            if reply is not None:
                await responder.notice(await reply())
            else:
                elsewhere = await answer_in() if answer_in is not None else None
                await self.answer(msg, elsewhere or responder)
        await self.mark_handled(msg)

    @property
    def owner(self) -> str:
        """Whom this bot's executions belong to."""
        return f"bot:{self.settings.name}"

    async def answer(self, msg: Incoming, responder: Responder) -> None:
        async def run(wf: StoredWorkflow, sink: Sink) -> ExecutionRecord:
            start = wf.compiled.start
            field = start.text_input()
            inputs: dict[str, Any] = {}
            text, heard = msg.text, None
            if msg.files:
                if self.services.files is None:
                    raise FileNotTaken("this chatgate keeps no files")
                taken = await take(
                    msg.files, start, self.services.files, session_id=msg.session_id, owner=self.owner
                )
                inputs[taken.name] = taken.value()
                heard = await self._heard(taken)
                if heard is not None:  # a voice note: what was said is the text (after any caption)
                    text = f"{text}\n{heard}" if text else heard
            if field is not None:
                inputs[field] = text
            elif not inputs:
                raise ExecutionFailed(f"workflow '{wf.name}' declares no string input for chat messages")
            return await self.services.executor.execute(
                wf.workflow_id,
                wf.compiled,
                inputs,
                owner=self.owner,
                session_id=msg.session_id,
                sink=sink,
                caller=Caller(msg.platform, msg.user_id, msg.user_name, msg.chat_id, heard is not None),
            )

        await self._reply(msg, responder, run)

    # -- a press on a question's button ---------------------------------------------

    async def check_press(self, msg: Incoming, key: str) -> Check:
        """Whether a press counts (read only, fast: the platform acknowledges the press with
        the verdict's toast at once): the question still waits, in this chat, and the presser
        is the person asked."""
        pressed = read_key(key)
        if pressed is None:
            return expired()
        waiting = await self.services.executor.waitings.get(pressed.execution_id)
        if waiting is None or waiting.owner != self.owner or waiting.being_answered(utcnow()):
            return expired()
        picked = choice(pressed, waiting.question)
        if picked is None:
            return expired()
        asked = Caller(**waiting.state["caller"])
        # Before the session: someone else's may be their own (session_scope user). Buttons
        # can only be pressed where they were shown, so the presser is in the asker's chat.
        if asked.user_id not in (None, msg.user_id):
            return only_asked(asked.user_name)
        if waiting.session_id != msg.session_id:
            return expired()
        return Check(None, waiting.execution_id, *picked)

    async def answer_press(
        self,
        msg: Incoming,
        check: Check,
        responder: Responder,
        chosen: Callable[[str], Awaitable[None]],
    ) -> None:
        """Go on with the execution the press answered (``check``: its verdict, which
        counted): once per press (``msg.dedup_key``), within the user's limits; ``chosen``
        shows the choice on the question message. Never raises for the user's faults."""
        execution_id, option, label = check.execution_id, check.option, check.label
        if check.toast is not None or execution_id is None or label is None:
            return
        if await self.already_handled(msg):
            log.info("%s: press %s was already answered; skipping", self.source, msg.dedup_key)
            return
        if await self.allow(msg, responder):
            try:
                await chosen(label)
            except Exception:  # the choice not shown must not cost the answer
                log.warning("%s: could not show the choice on the question", self.source, exc_info=True)

            async def run(wf: StoredWorkflow, sink: Sink) -> ExecutionRecord:
                return await self.services.executor.resume(
                    execution_id, wf.compiled, option=option, owner=self.owner, sink=sink
                )

            await self._reply(msg, responder, run)
        await self.mark_handled(msg)

    async def _reply(
        self,
        msg: Incoming,
        responder: Responder,
        run: Callable[[StoredWorkflow, Sink], Awaitable[ExecutionRecord]],
    ) -> None:
        """Run the bot's workflow (``run``: a new execution, or one going on) and stream what
        it says; a question it asks goes out with its options as buttons."""
        stream = _Stream(responder, self._attachments)
        try:
            wf = await self.services.catalog.get(self.settings.workflow, owner=None)
            self.services.catalog.runnable(wf)
            async with stream:
                record = await run(wf, stream.on_event)
            result = record.result or {}
            content = result.get("content", "")
            files = [f for f in result.get("attachments") or () if f["id"] not in stream.attached]
            if record.status == "waiting":
                await responder.ask(content, buttons(record.execution_id, result["question"]))
            elif files:
                await responder.attach(content, await self._attachments(files))
            elif content or not stream.said:  # messages said it all: no "…" after them
                await responder.final(content or "…")
        except ChatgateError as e:
            run_id = e.execution_id if isinstance(e, ExecutionFailed | ExecutionCrashed) else None
            where = f" (execution {run_id})" if run_id else ""
            log.warning("%s: could not answer %s%s: %s", self.source, msg.session_id, where, e.message)
            await responder.notice(chat_message(e))

    async def _heard(self, taken: Taken) -> str | None:
        """What a voice note among the files says, when the bot transcribes (bots/voice.py)."""
        for ref, data in taken.files:
            said = await transcript(self.settings.voice, self.services.executor.llm, ref, data)
            if said is not None:
                return said
        return None

    async def _attachments(self, files: Sequence[dict[str, Any]]) -> list[Attachment]:
        """The bytes of files a run sent (stored by its nodes: engine/workflow/nodes/attachments.py)."""
        store = self.services.files
        if store is None:
            return []
        return [Attachment(f["name"], f["mime_type"], await store.read(f["id"])) for f in files]


class _Stream:
    """Feeds the growing answer to the responder: typing until the first token, then
    partial updates no more often than the platform allows and only when changed.

    A ``message`` node's text is said at once, as a message of its own, in the order the
    nodes said them: one task after another, never cancelled (a cut-off send could reach
    the chat without us knowing, and be sent again). The preview waits while a message
    goes out, and starts afresh after it: what streamed before belongs to no answer the
    user still waits for, and the message must not be shown inside a preview."""

    def __init__(
        self, responder: Responder, read: Callable[[Sequence[dict[str, Any]]], Awaitable[list[Attachment]]]
    ) -> None:
        self.responder = responder
        self.read = read  # the bytes of the files a message sends
        self.attached: set[str] = set()  # ids of the files messages sent (the answer's are the rest)
        self.parts: list[str] = []
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.said = False  # a message went out (or is on its way)
        self._saying: asyncio.Future[None] | None = None  # the last message's delivery
        self._failure: BaseException | None = None  # the first message that could not be sent
        self._generation = 0  # messages said so far: a preview of an older generation is stale

    def on_event(self, event: Event) -> None:
        if isinstance(event, MessageDelta) and event.content:
            self.parts.append(event.content)
            self.changed.set()
        elif isinstance(event, MessageSent):
            self.said = True
            self.parts = []
            self._generation += 1
            self.attached.update(f["id"] for f in event.attachments)
            self._saying = asyncio.ensure_future(self._say(self._saying, event.text, event.attachments))

    async def _say(
        self, before: asyncio.Future[None] | None, text: str, files: Sequence[dict[str, Any]]
    ) -> None:
        if before is not None:
            await before  # in order: never raises (failures are kept in _failure)
        if self._failure is not None:
            return  # a later message must not arrive without the one before it
        try:
            if files:
                await self.responder.attach(text, await self.read(files))
            else:
                await self.responder.message(text)
        except Exception as e:
            self._failure = e

    async def __aenter__(self) -> _Stream:
        self.task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        if self._saying is not None:
            # Every message is out before the answer; shielded, so a cancel does not cut one off.
            await asyncio.shield(self._saying)
        if self._failure is not None and exc[0] is None:
            raise self._failure  # as a failed final answer would

    async def _pump(self) -> None:
        r = self.responder
        try:
            while not self.parts:
                await r.typing()
                try:
                    # Not wait_for: on 3.11 it swallows a cancel that races the event being
                    # set, leaving this pump (and __aexit__, and the answer) hanging forever.
                    async with asyncio.timeout(TYPING_EVERY_S):
                        await self.changed.wait()
                except TimeoutError:
                    continue
            sent, shown_in = "", self._generation
            while True:
                await self.changed.wait()
                self.changed.clear()
                if self._saying is not None and not self._saying.done():
                    await asyncio.shield(self._saying)  # no preview while a message goes out
                if shown_in != self._generation:
                    sent, shown_in = "", self._generation
                text = "".join(self.parts)
                if text and text != sent:
                    await r.partial(text)
                    sent = text
                await asyncio.sleep(r.partial_interval_s)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed preview must not cost the answer: final() still delivers it.
            log.warning("streaming preview failed; the final answer will still be sent", exc_info=True)
