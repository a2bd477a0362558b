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
  ``image_bytes`` — one that cannot be fetched still arrives, as a picture without bytes.

Sending: a post to a customer group is a group-message task (``add_msg_template``) that the
member must confirm in the client — the id returned is the task's ``msgid``. A private message
goes through 微信客服 within its window (48 h after the person's last message, 5 messages per
message; kept in a ``WindowStore`` across restarts, :mod:`bot.transports.wecom_windows`):
outside it, :class:`OutsideWindow`. People join groups by join codes
(:meth:`join_code`), add the helper by 联系我 codes (:meth:`contact_code`); direct adds,
invitations, removals, friend acceptance and room creation do not exist here (``Unsupported``).
WeCom's errors become the interface's: permanent codes refuse with the code and its meaning, a
lost answer of a call that sends is :class:`Uncertain`, limits and busy answers are retried by
the outbox with backoff.

The package: :mod:`.rules` (what WeCom lets the bot do, its errors as the interface's),
:mod:`.inbound` (callbacks queued and turned into events, 微信客服 windows) and
:mod:`.transport` (running, sending, codes).
"""

from bot.transports.wecom_transport.rules import WECOM
from bot.transports.wecom_transport.transport import WeComTransport

__all__ = ["WECOM", "WeComTransport"]
