"""Every status a row can have, one ``StrEnum`` per status column, and the column type that
keeps them honest.

A member is its value (``OutboxStatus.QUEUED == "queued"``), so JSON, templates and log lines
read exactly as before; the tables store the same strings. What the enums add: a status
misspelt in code is an ``AttributeError`` at once instead of a query that silently matches
nothing, and :class:`EnumString` refuses to write (or compare with) a value its enum does
not know, and reads every value back as a member.

The values are not constrained in the database (no CHECK): new statuses come with new
transports (a WeCom group post waits as *proposed*), and on SQLite each change of a CHECK
rebuilds the whole table — the outbox above all. The column type is the one gate every
write of ours goes through.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class OutboxStatus(StrEnum):
    """Where an outbox row is (bot.runtime.sender moves them; ops resolve the last three):
    queued → sending (claimed, committed before the transport is called) → sent; a failed send
    goes back to queued (with a later ``not_before``) or, for good, to dead; a send whose outcome
    is unknown becomes uncertain. Ops retry (→ queued) or drop (→ dropped) a dead or uncertain one.

    Where group posts wait for a staff member's confirmation (WeCom's group-message tasks), a
    post handed over is proposed (``task_id`` names the task), then sent once the transport
    reports it delivered, or expired when nobody confirmed it in time (the task is cancelled).
    A private message outside the transport's window (微信客服's 48 h) is held until the person
    writes again, then queued; ops see held rows and may drop them."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    UNCERTAIN = "uncertain"
    DEAD = "dead"
    DROPPED = "dropped"
    PROPOSED = "proposed"
    EXPIRED = "expired"
    HELD = "held"


# The rows that wait on a person: sending failed for good, or no answer came (it may or may
# not have gone out), or the person's window is closed. Ops retry or drop them.
FOR_OPS = (OutboxStatus.UNCERTAIN, OutboxStatus.DEAD, OutboxStatus.HELD)


class DistributorStatus(StrEnum):
    """An active distributor sells, earns and is answered as one; a suspended one is not."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class EntryApplicationStatus(StrEnum):
    """Someone asking to become a distributor by declared reach: pending until ops decide."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class SessionStatus(StrEnum):
    """A co-learning session (共学营) is scheduled until ops cancel it (it is never deleted)."""

    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ApplicationStatus(StrEnum):
    """A distributor's group applying for co-learning: pending → enrolled (approved, room
    known) | approved (the room id is learnt only when the helper joins) → enrolled; or
    rejected; left when the helper was removed from the group."""

    PENDING = "pending"
    APPROVED = "approved"
    ENROLLED = "enrolled"
    REJECTED = "rejected"
    LEFT = "left"


class DeliveryStatus(StrEnum):
    """A co-learning moment for one group: sent, or skipped (missed by more than the grace)."""

    SENT = "sent"
    SKIPPED = "skipped"


class FriendRequestStatus(StrEnum):
    """A friend request to a helper account: accepted on its own (a code or keyword in the
    greeting) or by ops; ignored when ops rejected it or a newer request replaced it."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    IGNORED = "ignored"


class InvitationStatus(StrEnum):
    """The helper's invitation into someone's room, as ops decided (co-learning applications)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class RedPacketReason(StrEnum):
    """Why a red packet is owed: a stock threshold crossed, or an order showcase (晒单)."""

    THRESHOLD = "threshold"
    SHOWCASE = "showcase"


E = TypeVar("E", bound=StrEnum)


class EnumString(TypeDecorator[E]):
    """A status column: ``VARCHAR(length)`` in the database, a member of ``enum`` in Python.

    Binding a value the enum does not know raises (``'queud' is not a valid OutboxStatus``),
    whether it is written or compared with: a typo never reaches the database as a status
    nobody will ever look for. Plain strings that are members' values are accepted (a status
    read from a query string and checked against the enum, say)."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = 16):
        super().__init__(length)
        self.enum, self.length = enum, length  # both part of the statement cache key

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum(value)


class WithdrawalStatus(StrEnum):
    """A distributor's withdrawal (提现): requested until ops approve it (paid out: a ledger line)
    or reject it with a reason. At most one requested per person."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class ModerationStatus(StrEnum):
    """A removal from a brand group by moderation: removed by the helper, or ops told to remove
    (the transport cannot); appealed by the person; undone (strike cleared, re-invited) or upheld
    by ops."""

    REMOVED = "removed"
    OPS_TOLD = "ops_told"
    APPEALED = "appealed"
    UNDONE = "undone"
    UPHELD = "upheld"
