"""The ``wecom`` transport itself (the package's doc): running, status, sending — group posts
proposed as tasks for a member's confirmation, DMs through 微信客服 within its window — and the
join and 联系我 codes; what WeCom sends is :class:`~.inbound.Inbound`'s."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.base.kf_windows import WindowStore
from bot.base.startup import StartupError
from bot.base.transport import (
    Capabilities,
    EventSink,
    JoinCode,
    NeedInvite,
    PostCap,
    PostState,
    Refused,
    TransportStatus,
    UnknownTarget,
    Unsupported,
    WebRoute,
)
from bot.transports.wecom import ApiError, AuthFailed, CallbackCrypto, CallbackEndpoint, RequestFailed, WeComClient
from bot.transports.wecom.callback import DEFAULT_PATH
from bot.transports.wecom.pictures import PictureMissing, Pictures
from bot.transports.wecom.results import Attachment, TaskStatus
from bot.transports.wecom_transport.inbound import Inbound
from bot.transports.wecom_transport.rules import POST_STATES, WECOM, calling, kf_msgid
from bot.transports.wecom_windows import KfWindows
from core.kf_window import Limits, Window
from core.post_fit import cut, split

if TYPE_CHECKING:
    from bot.base.config import OutboxSettings, RateLimits

log = logging.getLogger("bot.transports.wecom_transport")


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
        self._now = clock
        self._sink: EventSink | None = None
        self._since: datetime | None = None
        kf = self.capabilities.private_window
        assert kf is not None
        self.windows = KfWindows(windows, Limits(kf.hours, kf.messages), clock)  # kept across restarts
        # A private text split in several messages whose sending stopped part way: outbox row
        # (ref) → how many of its parts went, so that trying the row again sends only the rest.
        self._parts_sent: dict[str, int] = {}
        self.pictures = pictures or Pictures(client)
        self.inbound = Inbound(client, sink=lambda: self._sink, clock=clock, welcome=welcome,
                               windows=self.windows, pictures=self.pictures, cursor_file=kf_cursor_file)
        self.endpoint = CallbackEndpoint(crypto, self.inbound.take)

    @staticmethod
    def clock_for(now: Callable[[], datetime]) -> _Clock:
        return _Clock(now)

    # --- running ------------------------------------------------------------------------------

    def can_send(self) -> bool:
        return self._sink is not None

    async def ready(self) -> None:
        return None  # HTTP calls: nothing to stay connected to

    async def start(self, sink: EventSink) -> None:
        self.inbound.load_cursor()
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
        self.inbound.start()

    async def stop(self) -> None:
        if self._sink is None and not self.inbound.running:
            return
        self._sink = None
        await self.inbound.stop()
        await self.client.close()

    def status(self) -> TransportStatus:
        up = self._sink is not None
        detail = {
            "callback": self.callback_path,
            "member": self.self_id,
            "kf": self.open_kfid,
            "queued_events": self.inbound.queue.qsize(),
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

    @property
    def welcomes(self) -> dict[str, int]:
        return self.inbound.welcomes

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every event taken so far has been handled (tests, stopping)."""
        async with asyncio.timeout(timeout):
            await self.inbound.queue.join()

    # --- sending ------------------------------------------------------------------------------

    async def send_text(
        self, target: str, text: str, *, room: bool, mentions: Sequence[str] = (), ref: str | None = None
    ) -> str:
        if mentions:
            raise Unsupported("WeCom group messages cannot @-mention members")
        if room:  # the planner fits a capped room's digest; this cut is the last guard
            return await self._propose(target, text=cut(text, self.capabilities.group_text_bytes or 4000))
        window = await self._open_window(target)
        sent = ""
        done = self._parts_sent.get(ref, 0) if ref else 0
        for n, part in enumerate(self._dm_parts(text, window, done), done):
            async with calling("kf/send_msg"):
                sent = await self.client.kf_send_text(
                    touser=target, open_kfid=self.open_kfid, text=part, msgid=kf_msgid(ref if n == 0 else f"{ref}-{n}")
                )
            if ref:
                self._parts_sent[ref] = n + 1
            window = await self.windows.spent(target, window)
        if ref:
            self._parts_sent.pop(ref, None)
        return sent

    def _dm_parts(self, text: str, window: Window, done: int = 0) -> list[str]:
        """A private text over 微信客服's 2048 bytes goes as several messages, split at line ends
        (core.post_fit.split), as many as the window has left; the last one allowed then takes
        the rest, cut with "…". The first ``done`` parts already went (an earlier try)."""
        limit = self.capabilities.private_text_bytes or 2048
        assert self.capabilities.private_window is not None
        left = max(1, self.capabilities.private_window.messages - window.sent)
        parts = split(text, limit)
        parts = parts[done:]
        if len(parts) > left:
            parts = [*parts[: left - 1], cut("\n".join(parts[left - 1 :]), limit)]
        return parts

    async def send_image(self, target: str, image: bytes, *, room: bool, name: str, ref: str | None = None) -> str:
        if not room:
            window = await self._open_window(target)
        async with calling("media/upload"):
            media = await self.client.upload_media("image", name, image, content_type="image/png")
        if room:
            return await self._propose(target, attachments=[Attachment.image(media_id=media.media_id)])
        async with calling("kf/send_msg"):
            sent = await self.client.kf_send_msg(touser=target, open_kfid=self.open_kfid, msgtype="image",
                                                 content={"media_id": media.media_id}, msgid=kf_msgid(ref))
        await self.windows.spent(target, window)
        return sent

    async def _propose(self, chat_id: str, *, text: str | None = None, attachments: Sequence[Attachment] = ()) -> str:
        """A group-message task for one customer group; the member confirms it in the client."""
        async with calling("externalcontact/add_msg_template"):
            task = await self.client.add_msg_template(chat_type="group", sender=self.self_id, chat_ids=[chat_id],
                                                      text=text, attachments=attachments)
        if chat_id in task.fail_list:
            raise UnknownTarget(f"{chat_id} is not a customer group of {self.self_id}")
        return task.msgid

    async def post_to_rooms(
        self, rooms: Sequence[str], text: str, *, ref: str | None = None
    ) -> tuple[str, tuple[str, ...]]:
        """One group-message task for several customer groups (``chat_id_list``): the member
        confirms it once, and WeCom counts it against each group's cap."""
        chat_ids = list(dict.fromkeys(rooms))
        if len(chat_ids) > self.capabilities.rooms_per_post:
            raise Refused(f"{len(chat_ids)} groups in one task; WeCom takes {self.capabilities.rooms_per_post}")
        async with calling("externalcontact/add_msg_template"):
            task = await self.client.add_msg_template(
                chat_type="group", sender=self.self_id, chat_ids=chat_ids,
                text=cut(text, self.capabilities.group_text_bytes or 4000),
            )
        refused = tuple(c for c in chat_ids if c in task.fail_list)
        if len(refused) == len(chat_ids):
            raise UnknownTarget(f"none of {', '.join(chat_ids)} is a customer group of {self.self_id}")
        return task.msgid, refused

    async def post_states(self, task_id: str, rooms: Sequence[str]) -> Mapping[str, PostState]:
        """From the task (0: the member has not confirmed) and then its send results, read once
        for all ``rooms`` (1 sent, 2 failed, 3 the room's share of group messages used up); a
        room missing from the results of a confirmed task was not among its recipients."""
        async with calling("externalcontact/get_groupmsg_task"):
            tasks = await self.client.get_groupmsg_task(task_id)
            mine = next((t for t in tasks.items if t.userid == self.self_id), None)
            if mine is None or mine.status != TaskStatus.SENT:
                return dict.fromkeys(rooms, PostState.PROPOSED)
            wanted, found = set(rooms), {}
            cursor = ""
            while True:
                page = await self.client.get_groupmsg_send_result(task_id, self.self_id, cursor=cursor)
                for result in page.items:
                    if result.chat_id in wanted:
                        found[result.chat_id] = POST_STATES.get(result.status, PostState.PROPOSED)
                if page.last or len(found) == len(wanted):
                    return {room: found.get(room, PostState.FAILED) for room in rooms}
                cursor = page.next_cursor

    async def remind_post(self, task_id: str) -> None:
        async with calling("externalcontact/remind_groupmsg_send"):
            await self.client.remind_groupmsg_send(task_id)

    async def cancel_post(self, task_id: str) -> None:
        async with calling("externalcontact/cancel_groupmsg_send"):
            await self.client.cancel_groupmsg_send(task_id)

    async def _open_window(self, person: str) -> Window:
        if not self.open_kfid:
            raise Refused("no 微信客服 account configured (transport.wecom.kf.open_kfid): no private messages")
        return await self.windows.check(person)

    async def room_members(self, room: str) -> list[str]:
        async with calling("externalcontact/groupchat/get"):
            chat = await self.client.get_group_chat(room)
        members = [m.userid for m in chat.members]
        self.inbound.members[room] = set(members)
        return members

    async def join_code(self, rooms: Sequence[str], *, name: str, state: str) -> JoinCode:
        async with calling("externalcontact/groupchat/add_join_way"):
            config_id = await self.client.add_join_way(chat_ids=list(rooms)[:5], state=state[:30],
                                                       room_base_name=name[:40], room_base_id=len(rooms) + 1,
                                                       auto_create_room=True)
            way = await self.client.get_join_way(config_id)
        return JoinCode(config_id, way.qr_code)

    async def contact_code(self, state: str) -> JoinCode:
        async with calling("externalcontact/add_contact_way"):
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
