"""The ``wecom`` transport: the helper as a member of a company on WeCom (企业微信), through the
official server APIs (:mod:`bot.transports.wecom`, WECOM.md).

What WeCom sends arrives at the callback URL (``/wecom/callback``, the library's
:class:`CallbackEndpoint`: URL check, signature, decryption, retries recognised). The answer is
given at once; the event is queued and turned into the neutral events handlers know, one after
the other, by one worker:

- a customer adding the helper (``add_external_contact``) → :class:`FriendRequest` whose greeting
  is the ``state`` of the 联系我 code used (a distributor's code), already accepted — WeCom has no
  requests to accept. The welcome goes out on the spot through ``send_welcome_msg``: WeCom takes
  it only within 20 s, so it never waits behind the queue;
- a customer group changing (``change_external_chat``) → :class:`RoomJoin` / :class:`RoomLeave`,
  from the group read again with ``groupchat/get`` (the event alone may merge or omit changes);
  the names are the event's ``MemChangeList`` when it has one, else the difference to the list
  read last time;
- 微信客服 news (``kf_msg_or_event``) → each customer message fetched with ``kf/sync_msg`` (the
  cursor kept in a file across restarts) as a private :class:`Message`; a picture is fetched
  with ``media/get`` as it arrives (:mod:`bot.transports.wecom.pictures`) and read back by
  :meth:`image_bytes` — one that cannot be fetched still arrives, as a picture without bytes.

Sending: a post to a customer group is a group-message task (``add_msg_template``) that the
member must confirm in the client — the id returned is the task's ``msgid``. A private message
goes through 微信客服 within its window (48 h after the person's last message, 5 messages per
message; kept in a :class:`WindowStore` across restarts, :mod:`bot.transports.wecom_windows`):
outside it, :class:`OutsideWindow`. People join groups by join codes
(:meth:`join_code`), add the helper by 联系我 codes (:meth:`contact_code`); direct adds,
invitations, removals, friend acceptance and room creation do not exist here (``Unsupported``).
WeCom's errors become the interface's: permanent codes refuse with the code and its meaning, a
lost answer of a call that sends is :class:`Uncertain`, limits and busy answers are retried by
the outbox with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.base.kf_windows import WindowStore
from bot.base.startup import StartupError
from bot.base.transport import (
    Capabilities,
    Event,
    EventSink,
    FriendRequest,
    JoinCode,
    Message,
    NeedInvite,
    NotConnected,
    PostCap,
    PostState,
    PrivateWindow,
    Refused,
    RoomJoin,
    RoomLeave,
    TransportError,
    TransportStatus,
    Uncertain,
    UnknownTarget,
    Unsupported,
    WebRoute,
)
from bot.transports.wecom import (
    ApiError,
    AuthFailed,
    CallbackCrypto,
    CallbackEndpoint,
    CallbackEvent,
    ExternalChatChanged,
    ExternalContactAdded,
    InvalidRequest,
    KfMsgOrEvent,
    PermanentError,
    RequestFailed,
    UnknownOutcome,
    WeComClient,
)
from bot.transports.wecom.callback import DEFAULT_PATH
from bot.transports.wecom.events import ChatChange, ChatUpdate
from bot.transports.wecom.pictures import PictureMissing, Pictures
from bot.transports.wecom.results import Attachment, KfMessage, KfOrigin, SendStatus, TaskStatus
from bot.transports.wecom_windows import KfWindows
from core.kf_window import Limits, Window

if TYPE_CHECKING:
    from bot.base.config import OutboxSettings, RateLimits

log = logging.getLogger(__name__)

# What WeCom lets a company's bot do (WECOM.md §8, §9): customer groups take nobody by an add
# and every post waits for a member's confirmation, within a cap; DMs only through 微信客服.
WECOM = Capabilities(
    send_images=True,
    image_bytes=True,
    join_codes=True,
    contact_codes=True,
    group_posts_need_confirmation=True,
    group_post_cap=PostCap("month"),
    private_window=PrivateWindow(hours=48, messages=5),
)
# Codes saying the person or group is not (or no longer) there, rather than a request refused.
_UNKNOWN_TARGET_CODES = frozenset({40096, 84061})
_POST_STATES: dict[int, PostState] = {
    SendStatus.NOT_SENT: PostState.PROPOSED,
    SendStatus.SENT: PostState.SENT,
    SendStatus.NOT_FRIEND: PostState.FAILED,
    SendStatus.CAP_REACHED: PostState.CAPPED,
}
_KF_MSGID = re.compile(r"[0-9A-Za-z_-]{1,32}")


class _Clock:
    """The bot's clock (a callable) as the WeCom library reads clocks (``now()``)."""

    def __init__(self, now: Callable[[], datetime]):
        self.now = now


class WeComTransport:
    name = "wecom"

    def __init__(
        self,
        client: WeComClient,
        crypto: CallbackCrypto,
        *,
        account: str,
        sender_userid: str,
        open_kfid: str,
        clock: Callable[[], datetime],
        welcome: Callable[[str], str],
        cap: PostCap | None = None,
        callback_path: str = DEFAULT_PATH,
        kf_cursor_file: Path | None = None,
        windows: WindowStore | None = None,
        pictures: Pictures | None = None,
    ):
        self.client = client
        self.account = account
        self.self_id = sender_userid
        self.open_kfid = open_kfid
        self.capabilities: Capabilities = replace(WECOM, group_post_cap=cap or PostCap("month"))
        self.callback_path = callback_path
        self.endpoint = CallbackEndpoint(crypto, self._take)
        self._now = clock
        self._welcome = welcome
        self._cursor_file = kf_cursor_file
        self._cursor = ""
        self._sink: EventSink | None = None
        self._since: datetime | None = None
        self._queue: asyncio.Queue[CallbackEvent] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._welcoming: set[asyncio.Task[None]] = set()
        self._members: dict[str, set[str]] = {}  # chat id → members as last read
        self._names: dict[str, str] = {}
        assert self.capabilities.private_window is not None
        kf = self.capabilities.private_window
        self.windows = KfWindows(windows, Limits(kf.hours, kf.messages), clock)
        self.pictures = pictures or Pictures(client)
        self.welcomes = {"sent": 0, "missed": 0}

    @staticmethod
    def clock_for(now: Callable[[], datetime]) -> _Clock:
        return _Clock(now)

    # --- running ------------------------------------------------------------------------------

    def can_send(self) -> bool:
        return self._sink is not None

    async def ready(self) -> None:
        return None  # HTTP calls: nothing to stay connected to

    async def start(self, sink: EventSink) -> None:
        if self._cursor_file is not None and self._cursor_file.exists():
            self._cursor = self._cursor_file.read_text(encoding="utf-8").strip()
        try:
            await self.client.gettoken()  # a wrong corp id or secret stops the start here
        except AuthFailed as exc:
            await self.client.close()
            raise StartupError(f"WeCom refused the corp id or secret: errcode {exc.code}, {exc.meaning}") from None
        except (RequestFailed, ApiError) as exc:
            log.warning("wecom: no access token yet (%s); calls will fetch one", exc)
        await self.windows.load()
        self._sink = sink
        self._since = self._now()
        self._worker = asyncio.create_task(self._work(), name="wecom-events")

    async def stop(self) -> None:
        if self._sink is None and self._worker is None:
            return
        self._sink = None
        pending = [t for t in (self._worker, *self._welcoming) if t is not None]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._worker = None
        await self.client.close()

    def status(self) -> TransportStatus:
        up = self._sink is not None
        detail = {
            "callback": self.callback_path,
            "member": self.self_id,
            "kf": self.open_kfid,
            "queued_events": self._queue.qsize(),
            "callbacks_refused": self.endpoint.rejected,
            "callback_retries": self.endpoint.duplicates,
            "welcomes": dict(self.welcomes),
            "pictures_missed": self.pictures.failures,
            "open_windows": self.windows.open_count(),
        }
        return TransportStatus(self.name, self.account, logged_in=up, detail=detail, connected=up, since=self._since)

    def rate_limits(self, outbox: OutboxSettings) -> RateLimits:
        return outbox.limits

    def web_routes(self) -> Sequence[WebRoute]:
        return self.endpoint.routes(self.callback_path)

    def banner(self, base_url: str) -> str:
        return (
            f"WeCom: callbacks at {base_url}{self.callback_path} (set it under the app's 接收消息),"
            f" member {self.self_id}, 微信客服 {self.open_kfid or 'not configured'}"
        )

    # --- receiving ----------------------------------------------------------------------------

    async def _take(self, event: CallbackEvent) -> None:
        """The callback endpoint's hand-over: queue the event and return, so WeCom gets its
        answer at once. Not started (or stopped): refused, so WeCom tries again."""
        if self._sink is None:
            raise NotConnected("the wecom transport is not running")
        if isinstance(event, ExternalContactAdded) and event.welcome_code:
            task = asyncio.create_task(self._send_welcome(event), name="wecom-welcome")
            self._welcoming.add(task)
            task.add_done_callback(self._welcoming.discard)
        self._queue.put_nowait(event)

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
            event = await self._queue.get()
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("wecom: the callback %s could not be handled", event.dedupe_key)
            finally:
                self._queue.task_done()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every event taken so far has been handled (tests, stopping)."""
        async with asyncio.timeout(timeout):
            await self._queue.join()

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
        sink = self._sink
        if sink is not None:
            await sink(event)

    async def _chat_changed(self, event: ExternalChatChanged) -> list[Event]:
        chat_id = event.chat_id
        if event.change_type is ChatChange.DISMISS:
            self._members.pop(chat_id, None)
            return []
        try:
            chat = await self.client.get_group_chat(chat_id)
        except (ApiError, RequestFailed) as exc:
            log.warning("wecom: group %s changed but could not be read: %s", chat_id, exc)
            return []
        now = {m.userid for m in chat.members}
        before = self._members.get(chat_id)
        self._members[chat_id] = now
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

    # --- sending ------------------------------------------------------------------------------

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        if mentions:
            raise Unsupported("WeCom group messages cannot @-mention members")
        if room:
            return await self._propose(target, text=text)
        window = await self._open_window(target)
        async with self._calling("kf/send_msg"):
            sent = await self.client.kf_send_text(touser=target, open_kfid=self.open_kfid, text=text,
                                                  msgid=_kf_msgid(ref))
        await self.windows.spent(target, window)
        return sent

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        if not room:
            window = await self._open_window(target)
        async with self._calling("media/upload"):
            media = await self.client.upload_media("image", name, image, content_type="image/png")
        if room:
            return await self._propose(target, attachments=[Attachment.image(media_id=media.media_id)])
        async with self._calling("kf/send_msg"):
            sent = await self.client.kf_send_msg(touser=target, open_kfid=self.open_kfid, msgtype="image",
                                                 content={"media_id": media.media_id}, msgid=_kf_msgid(ref))
        await self.windows.spent(target, window)
        return sent

    async def _propose(self, chat_id: str, *, text: str | None = None, attachments: Sequence[Attachment] = ()) -> str:
        """A group-message task for one customer group; the member confirms it in the client."""
        async with self._calling("externalcontact/add_msg_template"):
            task = await self.client.add_msg_template(chat_type="group", sender=self.self_id, chat_ids=[chat_id],
                                                      text=text, attachments=attachments)
        if chat_id in task.fail_list:
            raise UnknownTarget(f"{chat_id} is not a customer group of {self.self_id}")
        return task.msgid

    async def post_state(self, task_id: str, room: str) -> PostState:
        """From the task (0: the member has not confirmed) and then the room's send result
        (1 sent, 2 failed, 3 the room's share of group messages used up)."""
        async with self._calling("externalcontact/get_groupmsg_task"):
            tasks = await self.client.get_groupmsg_task(task_id)
            mine = next((t for t in tasks.items if t.userid == self.self_id), None)
            if mine is None or mine.status != TaskStatus.SENT:
                return PostState.PROPOSED
            cursor = ""
            while True:
                page = await self.client.get_groupmsg_send_result(task_id, self.self_id, cursor=cursor)
                for result in page.items:
                    if result.chat_id == room:
                        return _POST_STATES.get(result.status, PostState.PROPOSED)
                if page.last:
                    return PostState.FAILED  # confirmed, and the room not among its recipients
                cursor = page.next_cursor

    async def remind_post(self, task_id: str) -> None:
        async with self._calling("externalcontact/remind_groupmsg_send"):
            await self.client.remind_groupmsg_send(task_id)

    async def cancel_post(self, task_id: str) -> None:
        async with self._calling("externalcontact/cancel_groupmsg_send"):
            await self.client.cancel_groupmsg_send(task_id)

    async def _open_window(self, person: str) -> Window:
        if not self.open_kfid:
            raise Refused("no 微信客服 account configured (transport.wecom.kf.open_kfid): no private messages")
        return await self.windows.check(person)

    async def room_members(self, room: str) -> list[str]:
        async with self._calling("externalcontact/groupchat/get"):
            chat = await self.client.get_group_chat(room)
        members = [m.userid for m in chat.members]
        self._members[room] = set(members)
        return members

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        async with self._calling("externalcontact/groupchat/add_join_way"):
            config_id = await self.client.add_join_way(chat_ids=list(rooms)[:5], state=state[:30],
                                                       room_base_name=name[:40], room_base_id=len(rooms) + 1,
                                                       auto_create_room=True)
            way = await self.client.get_join_way(config_id)
        return JoinCode(config_id, way.qr_code)

    async def contact_code(self, state: str) -> JoinCode:
        async with self._calling("externalcontact/add_contact_way"):
            way = await self.client.add_contact_way(state=state, users=[self.self_id], remark=state[:30])
        return JoinCode(way.config_id, way.qr_code)

    async def add_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise NeedInvite("WeCom customer groups take nobody by an add: people join by the group's join code")

    async def invite_to_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise Unsupported("WeCom has no invitation cards to customer groups: send the join code")

    async def remove_from_room(self, room: str, contact: str, *, ref: str | None = None) -> None:
        raise Unsupported("WeCom's APIs cannot remove a member from a customer group")

    async def image_bytes(self, message_id: str) -> bytes:
        try:
            return await self.pictures.get(message_id)
        except PictureMissing as exc:
            raise UnknownTarget(str(exc)) from exc

    async def accept_friend(self, request_id: str) -> None:
        raise Unsupported("WeCom has no friend requests: customers add the helper by a 联系我 code")

    async def accept_room_invitation(self, invitation_id: str) -> None:
        raise Unsupported("WeCom's APIs cannot take the helper into someone's group")

    async def create_room(self, topic: str, members: Sequence[str]) -> str | None:
        raise Unsupported("WeCom opens new customer groups itself, from a join code that is full")

    @asynccontextmanager
    async def _calling(self, what: str) -> AsyncIterator[None]:
        """WeCom's failures as the interface's errors (the module's doc)."""
        try:
            yield
        except UnknownOutcome as exc:
            raise Uncertain(str(exc)) from exc
        except PermanentError as exc:
            text = f"{what}: errcode {exc.code}, {exc.meaning}"
            raise (UnknownTarget(text) if exc.code in _UNKNOWN_TARGET_CODES else Refused(text)) from exc
        except InvalidRequest as exc:
            raise Refused(f"{what}: {exc}") from exc
        except (ApiError, RequestFailed) as exc:  # busy, limits, credentials: the outbox backs off
            raise TransportError(str(exc)) from exc


def _kf_msgid(ref: str | None) -> str:
    """The outbox row as the kf message's own id, so WeCom can tell a resend (when it fits)."""
    candidate = f"ob-{ref}" if ref else ""
    return candidate if _KF_MSGID.fullmatch(candidate) else ""
