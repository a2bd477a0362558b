"""Events loaded side by side, handed on in arrival order, one worker per conversation.

A transport that must look each event up before it knows what it is (wechaty loads a message's
payload to learn its room) submits the lookups as they arrive. They run concurrently (bounded),
and their results are handed on in arrival order, each to its conversation's worker (a room, or a
private chat): a conversation's events reach the sink in order, conversations run side by side,
and idle workers go away. A slow lookup holds up the hand-on for everyone (bounded by
``load_timeout``): the conversation an event belongs to is only known once it is loaded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.base.transport import Event, EventSink, conversation_of

log = logging.getLogger(__name__)


@dataclass
class _Conversation:
    queue: asyncio.Queue[Event]
    worker: asyncio.Task[None]


class OrderedDelivery:
    """Created inside the running loop (it starts its hand-on task); ``close()`` ends it."""

    def __init__(
        self,
        sink: EventSink,
        *,
        load_timeout: float,
        idle_after: float = 60.0,
        max_loading: int = 32,
        describe: Callable[[BaseException], str] = repr,
    ) -> None:
        self._sink = sink
        self._load_timeout = load_timeout
        self._idle_after = idle_after
        self._loading = asyncio.Semaphore(max_loading)
        self._describe = describe
        self._intake: asyncio.Queue[asyncio.Task[Event | None]] = asyncio.Queue()
        self._conversations: dict[str, _Conversation] = {}
        self._route = asyncio.create_task(self._hand_on(), name="ordered-delivery")

    def submit(self, load: Coroutine[Any, Any, Event | None]) -> None:
        """Start loading an event (None: nothing to deliver); it is handed on in submit order."""
        self._intake.put_nowait(asyncio.create_task(self._bounded(load)))

    async def drain(self, timeout: float) -> bool:
        """Wait (up to ``timeout``) until everything submitted has reached the sink."""
        try:
            async with asyncio.timeout(timeout):
                await self._intake.join()
                for conversation in list(self._conversations.values()):
                    await conversation.queue.join()
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        """Drop whatever has not reached the sink yet."""
        pending: list[asyncio.Task[Any]] = [self._route, *(c.worker for c in self._conversations.values())]
        while not self._intake.empty():
            pending.append(self._intake.get_nowait())
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._conversations.clear()

    def counts(self) -> dict[str, int]:
        return {
            "conversations": len(self._conversations),
            "loading": self._intake.qsize(),  # received, not yet handed to a conversation
            "queued": sum(c.queue.qsize() for c in self._conversations.values()),
        }

    async def _bounded(self, load: Coroutine[Any, Any, Event | None]) -> Event | None:
        async with self._loading, asyncio.timeout(self._load_timeout):
            return await load

    async def _hand_on(self) -> None:
        while True:
            task = await self._intake.get()
            try:
                event = await task
            except TimeoutError:
                log.warning("an event could not be loaded in %g s, dropped", self._load_timeout)
                event = None
            except Exception as exc:
                log.warning("an event could not be loaded, dropped: %s", self._describe(exc))
                event = None
            if event is not None:
                self._dispatch(event)
            self._intake.task_done()

    def _dispatch(self, event: Event) -> None:
        key = conversation_of(event)
        conversation = self._conversations.get(key)
        if conversation is None:
            queue: asyncio.Queue[Event] = asyncio.Queue()
            worker = asyncio.create_task(self._work(key, queue), name=f"conversation-{key}")
            conversation = self._conversations[key] = _Conversation(queue, worker)
        conversation.queue.put_nowait(event)

    async def _work(self, key: str, queue: asyncio.Queue[Event]) -> None:
        while True:
            try:
                async with asyncio.timeout(self._idle_after):
                    event = await queue.get()
            except TimeoutError:
                if queue.empty():  # nothing can arrive between this check and the removal
                    del self._conversations[key]
                    return
                continue
            try:
                await self._sink(event)
            except Exception:
                log.exception("the sink failed on %s", type(event).__name__)
            finally:
                queue.task_done()
