"""What WeCom sends, turned into the events handlers know: the callback endpoint's hand-over is
queued (WeCom gets its answer at once) and one worker handles the events one after the other.

- ``add_external_contact`` → :class:`FriendRequest` (greeting: the 联系我 code's ``state``); the
  welcome goes out on the spot through ``send_welcome_msg``, never behind the queue (20 s);
- ``change_external_chat`` → :class:`RoomJoin` / :class:`RoomLeave`, from the group read again;
- ``kf_msg_or_event`` → each customer message fetched with ``kf/sync_msg`` (cursor kept in a
  file) as a private :class:`Message`, which opens that person's 微信客服 window anew (kept
  across restarts, :mod:`bot.transports.wecom_windows`); a picture is fetched with
  ``media/get`` as it arrives (:mod:`bot.transports.wecom.pictures`) — one that cannot be
  fetched still arrives, as a picture without bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from bot.base.transport import Event, EventSink, FriendRequest, Message, NotConnected, RoomJoin, RoomLeave
from bot.transports.wecom import (
    ApiError,
    CallbackEvent,
    ExternalChatChanged,
    ExternalContactAdded,
    InvalidRequest,
    KfMsgOrEvent,
    RequestFailed,
    UnknownOutcome,
    WeComClient,
)
from bot.transports.wecom.events import ChatChange, ChatUpdate
from bot.transports.wecom.pictures import Pictures
from bot.transports.wecom.results import KfMessage, KfOrigin
from bot.transports.wecom_windows import KfWindows

log = logging.getLogger("bot.transports.wecom_transport")


class Inbound:
    """The queue of callbacks and what reading them learns: group members as last read
    (``members``), customers' names, 微信客服 windows (``windows``) and the kf cursor."""

    def __init__(
        self,
        client: WeComClient,
        *,
        sink: Callable[[], EventSink | None],
        clock: Callable[[], datetime],
        welcome: Callable[[str], str],
        windows: KfWindows,
        pictures: Pictures,
        cursor_file: Path | None = None,
    ):
        self.client = client
        self._sink = sink
        self._now = clock
        self._welcome = welcome
        self._cursor_file = cursor_file
        self._cursor = ""
        self.queue: asyncio.Queue[CallbackEvent] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._welcoming: set[asyncio.Task[None]] = set()
        self.members: dict[str, set[str]] = {}  # chat id → members as last read
        self._names: dict[str, str] = {}
        self.windows = windows
        self.pictures = pictures
        self.welcomes = {"sent": 0, "missed": 0}

    def load_cursor(self) -> None:
        if self._cursor_file is not None and self._cursor_file.exists():
            self._cursor = self._cursor_file.read_text(encoding="utf-8").strip()

    def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="wecom-events")

    async def stop(self) -> None:
        pending = [t for t in (self._worker, *self._welcoming) if t is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._worker = None

    @property
    def running(self) -> bool:
        return self._worker is not None

    async def take(self, event: CallbackEvent) -> None:
        """The callback endpoint's hand-over: queue the event and return, so WeCom gets its
        answer at once. Not started (or stopped): refused, so WeCom tries again."""
        if self._sink() is None:
            raise NotConnected("the wecom transport is not running")
        if isinstance(event, ExternalContactAdded) and event.welcome_code:
            task = asyncio.create_task(self._send_welcome(event), name="wecom-welcome")
            self._welcoming.add(task)
            task.add_done_callback(self._welcoming.discard)
        self.queue.put_nowait(event)

    async def _send_welcome(self, event: ExternalContactAdded) -> None:
        try:
            await self.client.send_welcome_msg(event.welcome_code, text=self._welcome(event.state))
            self.welcomes["sent"] += 1
        except (ApiError, RequestFailed, UnknownOutcome, InvalidRequest) as exc:
            # 41051: the member had chatted already, or another app welcomed first; nothing to retry
            self.welcomes["missed"] += 1
            log.warning("wecom: no welcome for %s: %s", event.external_user_id, exc)

    async def _work(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("wecom: the callback %s could not be handled", event.dedupe_key)
            finally:
                self.queue.task_done()

    async def _handle(self, event: CallbackEvent) -> None:
        if isinstance(event, ExternalContactAdded):
            name = await self._name_of(event.external_user_id)
            request_id = f"wecom-add:{event.user_id}:{event.external_user_id}:{int(event.created.timestamp())}"
            await self._deliver(FriendRequest(request_id, event.external_user_id, name, event.state, event.created))
        elif isinstance(event, ExternalChatChanged):
            for found in await self._chat_changed(event):
                await self._deliver(found)
        elif isinstance(event, KfMsgOrEvent):
            await self._sync_kf(event.token, event.open_kfid)
        else:
            log.debug("wecom: %s acknowledged, nothing for the bot in it", event.dedupe_key)

    async def _deliver(self, event: Event) -> None:
        sink = self._sink()
        if sink is not None:
            await sink(event)

    async def _chat_changed(self, event: ExternalChatChanged) -> list[Event]:
        chat_id = event.chat_id
        if event.change_type is ChatChange.DISMISS:
            self.members.pop(chat_id, None)
            return []
        try:
            chat = await self.client.get_group_chat(chat_id)
        except (ApiError, RequestFailed) as exc:
            log.warning("wecom: group %s changed but could not be read: %s", chat_id, exc)
            return []
        now = {m.userid for m in chat.members}
        before = self.members.get(chat_id)
        self.members[chat_id] = now
        added = now - before if before is not None else set()
        removed = before - now if before is not None else set()
        found: list[Event] = []
        if event.members:  # who the event names, as WeChat's join names whom it names
            detail = event.update_detail
            joined = tuple(m for m in event.members if m in now) if detail is ChatUpdate.ADD_MEMBER else ()
            left = tuple(m for m in event.members if m not in now) if detail is ChatUpdate.DEL_MEMBER else ()
        else:
            joined, left = tuple(sorted(added)), tuple(sorted(removed))
        if joined:
            inviter = next((m.invitor for m in chat.members if m.userid == joined[0] and m.invitor), None)
            found.append(RoomJoin(chat_id, joined, event.created, inviter=inviter))
        if left:
            found.append(RoomLeave(chat_id, left, event.created))
        return found

    async def _sync_kf(self, token: str, open_kfid: str) -> None:
        while True:
            page = await self.client.kf_sync_msg(cursor=self._cursor, token=token, open_kfid=open_kfid)
            self._cursor = page.next_cursor or self._cursor
            if self._cursor_file is not None:
                self._cursor_file.write_text(self._cursor, encoding="utf-8")
            for message in page.messages:
                found = await self._kf_message(message)
                if found is not None:
                    await self._deliver(found)
            if not page.has_more:
                return

    async def _kf_message(self, message: KfMessage) -> Message | None:
        if message.origin != KfOrigin.CUSTOMER:
            return None
        person = message.external_userid
        at = message.sent or self._now()
        await self.windows.opened(person, at)  # a customer message opens the window anew
        name = await self._name_of(person)
        if message.msgtype == "text":
            return Message(message.msgid, person, name, message.text, at)
        if message.msgtype == "image":
            await self.pictures.take(message.msgid, message.media_id)  # failing, it arrives without bytes
            return Message(message.msgid, person, name, "[图片]", at, kind="image")
        return None

    async def _name_of(self, external_userid: str) -> str:
        if external_userid not in self._names:
            try:
                self._names[external_userid] = (await self.client.get_external_contact(external_userid)).name
            except (ApiError, RequestFailed):
                return ""  # not a contact of any member (a 微信客服-only customer): no name to show
        return self._names[external_userid]
