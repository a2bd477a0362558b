"""The WeCom server API client the transport uses: one object, every endpoint it needs.

    async with WeComClient(corp_id, secret, clock=clock) as wecom:
        way = await wecom.add_contact_way(state="DEMOC001", users=["helper"])
        task = await wecom.add_msg_template(chat_type="group", sender="helper", chat_ids=[...], text="…")

What each failure means is in :mod:`bot.transports.wecom.caller` (retries, token refresh, rate
limits, unknown outcomes) and :mod:`bot.transports.wecom.errors` (the code table).
"""

from __future__ import annotations

from bot.transports.wecom.caller import DEFAULT_BASE_URL, RetryPolicy
from bot.transports.wecom.contacts import ContactsApi
from bot.transports.wecom.groupmsg import GroupMsgApi
from bot.transports.wecom.groups import GroupsApi
from bot.transports.wecom.kf import KfApi
from bot.transports.wecom.media import MediaApi
from bot.transports.wecom.results import AccessToken

__all__ = ["DEFAULT_BASE_URL", "RetryPolicy", "WeComClient"]


class WeComClient(ContactsApi, GroupsApi, GroupMsgApi, KfApi, MediaApi):
    """Calls of §3 (contacts), §4 (groups), §5 (group messages, media) and §6 (kf)."""

    async def __aenter__(self) -> WeComClient:
        return self

    async def gettoken(self) -> AccessToken:
        """The current access token (fetched when missing or under a minute from expiry)."""
        return await self.tokens.get()
