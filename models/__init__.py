"""SQLAlchemy 2 models (one metadata, see models.base), the status of every row as a
``StrEnum`` (``statuses``), the named queries over them (``queries``, ``boards``, ``ingest``,
``marks``; the outbox sender's in ``outbox_queries``, the co-learning timer's in
``colearning_queries``), the one dialect-aware INSERT … ON CONFLICT (``upsert``) and the
Alembic migrations.

May import: ``core`` and libraries (SQLAlchemy, Alembic) — nothing else of ours."""

from models.audit import AuditEntry
from models.base import Base, Money, UTCDateTime, utcnow
from models.catalog import Brand, BrandGroup, Course, RedPacket, RelayLine, RelayPush
from models.colearning import ColearningApplication, ColearningDelivery, ColearningGroupRecord, ColearningSession
from models.console import ConsoleSession, ConsoleUser
from models.fleet import FleetLease
from models.kf_windows import KfWindow
from models.marks import Mark
from models.messaging import OutboxDrop, OutboxMessage
from models.moderation import ModerationCase, ModerationRules, ModerationStrike
from models.orders import LedgerLine, Order, OrderEvent
from models.people import Buyer, Distributor, EntryApplication, FanLock, PlatformCode
from models.rooms import FriendRequestRecord, RoomInvitationRecord, RoomMember
from models.sales import SellerCustomer, SellerSales
from models.transport_codes import TransportCode
from models.withdrawals import Withdrawal

__all__ = [
    "AuditEntry",
    "Base",
    "Brand",
    "BrandGroup",
    "Buyer",
    "ColearningApplication",
    "ColearningDelivery",
    "ColearningGroupRecord",
    "ColearningSession",
    "ConsoleSession",
    "ConsoleUser",
    "Course",
    "Distributor",
    "EntryApplication",
    "FanLock",
    "FleetLease",
    "FriendRequestRecord",
    "KfWindow",
    "LedgerLine",
    "Mark",
    "ModerationCase",
    "ModerationRules",
    "ModerationStrike",
    "Money",
    "Order",
    "OrderEvent",
    "OutboxDrop",
    "OutboxMessage",
    "PlatformCode",
    "RedPacket",
    "RelayLine",
    "RelayPush",
    "RoomInvitationRecord",
    "RoomMember",
    "SellerCustomer",
    "SellerSales",
    "TransportCode",
    "UTCDateTime",
    "Withdrawal",
    "utcnow",
]
