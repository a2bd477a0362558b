"""Configuration: ``config.yaml`` read into typed settings, checked as a whole.

Structure is checked by pydantic; the commission plan by :func:`core.plan.build_plan` (two
levels at most, shares within the pool); cross-references (keywords, skus, levels) here.
Every error comes back at once with its line, as :class:`ConfigError`.
"""

from __future__ import annotations

import ipaddress
import os
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import time, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.base.yamlfile import line_index, load_yaml, locate
from core.advisor import advise
from core.attribution import FanLockRule, LockMode
from core.entry import EntryRules, Path, ReachRule
from core.keywords import BrandWords
from core.ledger import DEFAULT_REFUND_WINDOW_DAYS
from core.moderation import Limits as ModerationLimitsRule
from core.moderation import Policy as ModerationPolicy
from core.money import is_fen_exact, to_decimal
from core.order_sequence import Terms
from core.plan import CommissionPlan, build_plan
from core.problems import ConfigProblems, Problem
from core.products import CourseKind, CourseTerms
from core.upgrade import Metric, UpgradeStep

DEFAULT_CONFIG = "config.yaml"
MAX_ROOM_MEMBERS = 500


def _money(value: Any) -> Decimal:
    amount = to_decimal(value)
    if amount < 0:
        raise ValueError("must not be negative")
    if not is_fen_exact(amount):
        raise ValueError("must be whole fen (at most two decimals)")
    return amount


Money = Annotated[Decimal, BeforeValidator(_money)]


def _network(value: Any) -> str:
    try:
        return str(ipaddress.ip_network(str(value).strip(), strict=False))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (e.g. 10.0.0.1 or 10.0.0.0/8)") from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlatformSettings(_Model):
    name: str
    timezone: str = "Asia/Shanghai"
    material_group: str | None = None  # room id of the 素材群
    helper_account: str = "helper"  # the default helper account that sends


class DatabaseSettings(_Model):
    url: str | None = None  # default: DISTBOT_DATABASE_URL, else ./distbot.db


class RuntimeSettings(_Model):
    """The long-lived tasks under faults, stopping, and health (README: "Faults and health")."""

    stop_grace_seconds: Decimal = Field(Decimal("10"), gt=0)  # SIGTERM → exit, whatever the database does
    retry_max_seconds: Decimal = Field(Decimal("5"), gt=0)  # longest wait between tries while the database is out
    # A chat batch not committed by then is taken for an outage (a database that hangs) and spooled.
    batch_timeout_seconds: Decimal = Field(Decimal("30"), gt=0)
    # Events taken while the database is out wait here, on local disk, until it is back (and
    # across a stop); "{account}" is the helper account, so processes sharing a directory do not mix.
    inbox_spool: str = "distbot-inbox-{account}.jsonl"
    health_timeout_seconds: Decimal = Field(Decimal("0.5"), gt=0)  # the probe's bound on its database check
    transport_grace_seconds: Decimal = Field(Decimal("60"), ge=0)  # disconnected longer than this: unhealthy
    # json: one JSON object per log line, with the call's trace id (DISTBOT_LOG_FORMAT=json wins).
    log_format: Literal["text", "json"] = "text"


class FleetSettings(_Model):
    """Several processes on one PostgreSQL (README: "Running more than one process"). A dead
    process's leases are taken over within ``lease_seconds + heartbeat_seconds``."""

    # The helper accounts this process serves besides platform.helper_account (DISTBOT_ACCOUNTS,
    # comma-separated, wins): it connects a transport for each and sends for those whose lease it holds.
    accounts: list[str] = Field(default_factory=list)
    lease_seconds: Decimal = Field(Decimal("10"), gt=0)  # a lease not renewed for this long is free
    heartbeat_seconds: Decimal = Field(Decimal("2"), gt=0)  # how often leases are renewed (and free ones taken)

    @model_validator(mode="after")
    def _heartbeat_within_lease(self) -> FleetSettings:
        if self.heartbeat_seconds * 2 > self.lease_seconds:
            raise ValueError("fleet.heartbeat_seconds must be at most half of fleet.lease_seconds")
        return self


class WebhookSettings(_Model):
    secret: str | None = None  # DISTBOT_WEBHOOK_SECRET wins
    tolerance_seconds: int = Field(300, ge=1)


class OrderSettings(_Model):
    """Micro-batching of concurrent order events (``services.order_batch``): up to
    ``batch_max`` events arriving within ``batch_window_ms`` share one transaction (a batch
    starts at once when ``batch_max`` are waiting); 1 runs each event in its own."""

    batch_max: int = Field(16, ge=1, le=256)
    batch_window_ms: Decimal = Field(Decimal("5"), ge=0, le=100)


class AdminSettings(_Model):
    token: str | None = None  # DISTBOT_ADMIN_TOKEN wins


class ConsoleSettings(_Model):
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); none by default.
    trusted_proxies: list[Annotated[str, BeforeValidator(_network)]] = Field(default_factory=list)


class RateLimits(_Model):
    """Outgoing pace. WeChat publishes no limit and restricts accounts at low volumes: the
    defaults are slow on purpose."""

    account_interval_seconds: Decimal = Field(Decimal("3"), ge=0)  # between two sends of one account
    room_interval_seconds: Decimal = Field(Decimal("8"), ge=0)  # between two sends to one room
    jitter_seconds: Decimal = Field(Decimal("2"), ge=0)  # random extra, 0..jitter, on every gap


class OutboxSettings(_Model):
    limits: RateLimits = RateLimits()
    sim_limits: RateLimits = RateLimits(
        account_interval_seconds=Decimal("0.05"), room_interval_seconds=Decimal("0.2"), jitter_seconds=Decimal("0.05")
    )
    max_attempts: int = Field(5, ge=1)
    backoff_seconds: Decimal = Field(Decimal("5"), gt=0)  # doubles with each failed attempt
    coalesce_max_lines: int = Field(30, ge=1)
    poll_seconds: Decimal = Field(Decimal("1"), gt=0)  # how often to look for rows other processes queued
    # Queued rows of the lowest priority (menus, how-to-join, "稍后再试") one helper account may
    # hold; a new one beyond it is not queued, and counted (GET /api/outbox). None: no cap.
    low_priority_cap: int | None = Field(200, ge=1)
    # Sent rows are deleted this many days after they were sent (None: kept for ever), every
    # prune_every_minutes; dead, uncertain and dropped rows stay for ops whatever their age.
    keep_sent_days: int | None = Field(30, ge=1)
    prune_every_minutes: int = Field(60, ge=1)


# The WeCom values config.yaml ships with (transport.wecom): enough to start on 127.0.0.1 against
# a fake, known to everyone, so refused on any other address (bot.base.startup.demo_secrets).
DEMO_WECOM_SECRET = "demo-wecom-secret"
DEMO_WECOM_TOKEN = "demoWecomToken"
DEMO_WECOM_AES_KEY = "demoWecomAesKey0000000000000000000000000000"  # 43 characters, as WeCom's are


class WeComKfSettings(_Model):
    open_kfid: str = ""  # the 微信客服 account DMs go through (wk…); "" sends no DM
    url: str = ""  # its link (kf/add_contact_way), given in the welcome so people know where to write
    cursor_file: str = "wecom-kf-cursor.txt"  # sync_msg's cursor, kept across restarts


class WeComGroupMessageSettings(_Model):
    # As set in the admin console: month_days (WeCom's default), week_7 or day_1.
    cap: Literal["month_days", "week_7", "day_1"] = "month_days"
    remind_after_minutes: int = Field(60, ge=1)
    expire_after_hours: int = Field(24, ge=1)
    # A group's one post of the window waits for a local time of day (core.quota, anchored
    # digests): brand id → "HH:MM", e.g. the end of the push that carries most of its orders;
    # rooms of other brands and rooms that are no brand's use digest_at_default (None: a post
    # goes as soon as something waits).
    digest_at: dict[str, time] = {}
    digest_at_default: time | None = None


class WeComSettings(_Model):
    """``transport.wecom``: the self-built app the ``wecom`` transport speaks as. The secret,
    the callback Token and the EncodingAESKey may come from DISTBOT_WECOM_SECRET,
    DISTBOT_WECOM_TOKEN and DISTBOT_WECOM_AES_KEY (they win over the file), the corp id from
    DISTBOT_WECOM_CORP_ID."""

    corp_id: str = "wwdemocorp000000"
    agent_id: str = "1000002"
    secret: str = DEMO_WECOM_SECRET
    token: str = DEMO_WECOM_TOKEN
    aes_key: str = DEMO_WECOM_AES_KEY
    callback_path: str = Field("/wecom/callback", pattern="^/[A-Za-z0-9_/-]+$")
    sender_userid: str = "helper"  # the member customers add, whose group posts are proposed
    kf: WeComKfSettings = WeComKfSettings()
    group_messages: WeComGroupMessageSettings = WeComGroupMessageSettings()
    api_base_url: str = "https://qyapi.weixin.qq.com/cgi-bin/"
    timeout_seconds: Decimal = Field(Decimal("15"), gt=0)
    callback_max_skew_seconds: int = Field(300, ge=1)


class SimSettings(_Model):
    # wechat: personal WeChat's rules; wecom: WeCom's (posts proposed and confirmed on /sim/wecom,
    # the monthly cap, join codes instead of adds, the 48 h window for private messages).
    flavour: Literal["wechat", "wecom"] = "wechat"


class TransportSettings(_Model):
    # One of the transports the composition root registers (bot.transports.registry): this
    # layer does not know them, so whoever loads the file for a run passes their kinds in
    # (load_settings(transport_kinds=…)); without them only the shape of a name is checked.
    kind: str = Field("sim", pattern="^[a-z][a-z0-9_]*$")
    sim_journal: str = "sim-world.jsonl"
    friend_keywords: list[str] = Field(default_factory=lambda: ["分销", "推广", "合作"])
    wecom: WeComSettings = WeComSettings()
    sim: SimSettings = SimSettings()


class DemoDistributor(_Model):
    code: str
    name: str
    level: str
    recruiter: str | None = None  # the recruiter's code
    contact_id: str | None = None
    buyer_id: str | None = None


class DemoSettings(_Model):
    """Seeded into an empty database so a new user sees the bot work at once."""

    distributors: list[DemoDistributor] = Field(default_factory=list)


class LevelSettings(_Model):
    code: str = Field(min_length=1, max_length=8)
    name: str
    can_recruit: bool = True


class FanLockSettings(_Model):
    mode: LockMode = LockMode.SEMI_LIFETIME
    period_days: int = Field(30, ge=1)
    protection_days: int = Field(0, ge=0)


class SettlementSettings(_Model):
    refund_window_days: int = Field(DEFAULT_REFUND_WINDOW_DAYS, ge=0)
    run_every_minutes: int = Field(60, ge=1)


class ReachSettings(_Model):
    min_friends: int | None = Field(None, ge=1)
    min_groups: int | None = Field(None, ge=1)
    review: bool = True

    @model_validator(mode="after")
    def _one_minimum(self) -> ReachSettings:
        if self.min_friends is None and self.min_groups is None:
            raise ValueError("give min_friends, min_groups or both")
        return self


class EntrySettings(_Model):
    paths: list[Path] = Field(default_factory=lambda: [Path.CODE], min_length=1)
    purchase_threshold: Money | None = None
    reach: ReachSettings | None = None

    @model_validator(mode="after")
    def _paths_have_settings(self) -> EntrySettings:
        if Path.PURCHASE in self.paths and self.purchase_threshold is None:
            raise ValueError("the purchase path needs purchase_threshold")
        if Path.REACH in self.paths and self.reach is None:
            raise ValueError("the reach path needs reach: {min_friends, min_groups, review}")
        return self


class UpgradeSettings(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    from_level: str = Field(alias="from")
    to_level: str = Field(alias="to")
    any_of: list[dict[Metric, Annotated[Decimal, BeforeValidator(_money)]]] = Field(min_length=1)


class GroupSettings(_Model):
    room_id: str
    name: str
    capacity: int = Field(450, ge=2, le=MAX_ROOM_MEMBERS)
    account: str | None = None  # the helper account in this room, if not the default


class CourseSettings(_Model):
    sku: str = Field(min_length=1)
    name: str
    type: CourseKind = CourseKind.STANDARD
    price: Money
    pool: Money = Decimal(0)
    margin: Money = Decimal(0)
    bounty: Money = Decimal(0)
    bound_to: str | None = None
    qualifying_event: str = "trial_attended"
    checkins_required: int | None = Field(None, ge=1)
    stock: int | None = Field(None, ge=0)
    red_packet_thresholds: list[int] = Field(default_factory=list)

    @model_validator(mode="after")
    def _type_fields(self) -> CourseSettings:
        if self.type is CourseKind.CPA and self.bounty <= 0:
            raise ValueError("a cpa course needs a bounty paid per qualified new customer")
        if self.type is not CourseKind.CPA and self.bounty:
            raise ValueError("only cpa courses have a bounty")
        if self.bound_to and self.type is not CourseKind.TRIAL:
            raise ValueError("only a trial course can be bound to a full-price course")
        if self.type is CourseKind.CHECKIN_CASHBACK and self.checkins_required is None:
            raise ValueError("a check-in cashback course needs checkins_required")
        if self.pool + self.margin > self.price and self.type is not CourseKind.CPA:
            raise ValueError(f"pool {self.pool} + margin {self.margin} exceed the price {self.price}")
        if any(t < 0 for t in self.red_packet_thresholds):
            raise ValueError("red-packet thresholds are stock levels, 0 or more")
        if len(set(self.red_packet_thresholds)) != len(self.red_packet_thresholds):
            raise ValueError("red-packet thresholds repeat")
        return self

    def terms(self) -> CourseTerms:
        return CourseTerms(
            sku=self.sku,
            kind=self.type,
            price=self.price,
            pool=self.pool,
            margin=self.margin,
            bounty=self.bounty,
            bound_to=self.bound_to,
        )


def _clock_time(value: Any) -> Any:
    """ "09:30" → 09:30. YAML reads an unquoted 09:30 as a number (570), so only text is taken."""
    if isinstance(value, time):
        return value
    if not isinstance(value, str):
        raise ValueError('write the time as text in quotes, e.g. "09:30"')
    try:
        return time.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f'not a time of day: {value!r} (e.g. "09:30")') from None


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class BrandGroupFillSettings(_Model):
    """How a brand's groups fill, in turn: a group takes people until it has
    ``min(its capacity, rollover_at)`` members (below WeChat's 500, leaving room for people
    already invited); when every group is full the helper creates the next one where the
    transport can, otherwise ops are alerted."""

    rollover_at: int = Field(480, ge=2, le=MAX_ROOM_MEMBERS)
    direct_add_max: int = Field(40, ge=0, le=MAX_ROOM_MEMBERS)  # up to this many members: a direct add
    full_alert_every_minutes: int = Field(60, ge=1)  # ops hear "all groups full" at most this often per brand


class MaterialSettings(_Model):
    """The material group's (素材群) daily post recommending brands with their keywords, in the
    platform's timezone: once a day, the first time the job runs between post_at and post_until."""

    post_at: ClockTime | None = time(9, 30)  # None: no scheduled post
    post_until: ClockTime = time(21, 0)  # a bot that was down all day does not post at night
    command_every_minutes: int = Field(10, ge=0)  # "推荐" by ops/managers: at most this often


class DmSettings(_Model):
    """Private-message pacing."""

    menu_every_minutes: int = Field(5, ge=0)  # the full brand menu at most this often per person
    code_failures: int = Field(5, ge=1)  # wrong codes in the window before a person must wait
    code_failure_window_minutes: int = Field(10, ge=1)


class AnswerSettings(_Model):
    """How often the helper answers one person. Every message is handled (a stock command, a
    registration, a relay line is never lost); what is limited is the answers. Per window, a
    person gets at most their role's budget of answers, the same answer (template and data) at
    most once per ``repeat_minutes``, and past the budget one short "稍后再试" per window in a
    private chat. Welcomes and other messages above command answers in priority are not
    budgeted: a registration is news the person must get."""

    window_seconds: int = Field(60, ge=1)
    guest: int = Field(3, ge=1)  # answers per window to someone who is not a distributor
    distributor: int = Field(6, ge=1)
    staff: int = Field(20, ge=1)  # ops and brand course managers
    room: int = Field(30, ge=1)  # answers per window in one group, whoever asked
    repeat_minutes: int = Field(5, ge=0)  # 0: the same answer may be repeated


class ModerationLimits(_Model):
    """One set of group-moderation limits (core.moderation.Limits). In a brand's ``moderation``,
    a key left out keeps the platform's value; ``words`` there are added to the platform's."""

    words: list[str] = Field(default_factory=list)
    links: bool | None = None  # a link is an offence
    qr_codes: bool | None = None  # a picture with a QR code is an offence
    cards: bool | None = None  # a business card is an offence
    max_mentions: int | None = Field(None, ge=1)
    flood_messages: int | None = Field(None, ge=1)
    flood_seconds: int | None = Field(None, ge=1, le=86400)  # a day at most: a window the bot can count


class SellerRoom(_Model):
    """More room for distributors with sales: their limits (a key left out: everyone's)."""

    links: bool = False  # False: sellers may post links (their shop pages)
    max_mentions: int | None = Field(10, ge=1)
    flood_messages: int | None = Field(15, ge=1)
    extra_strikes: int = Field(1, ge=0)


class ModerationSettings(_Model):
    """Group moderation in brand groups (core.moderation): the platform-wide rules, the sellers'
    room, and the escalation ops set — removal at ``strikes_to_remove`` strikes within
    ``window_hours`` (a warning in the group before that)."""

    enabled: bool = True
    rules: ModerationLimits = ModerationLimits(
        links=True, qr_codes=True, cards=True, max_mentions=5, flood_messages=8, flood_seconds=60
    )
    sellers: SellerRoom = SellerRoom()
    strikes_to_remove: int = Field(3, ge=1)
    window_hours: int = Field(24, ge=1, le=8760)  # a year at most


class WithdrawalSettings(_Model):
    """Withdrawals (提现): the smallest amount a request may ask for."""

    minimum: Money = Decimal("50.00")


class ColearningSettings(_Model):
    """Co-learning sessions (共学营): how late a scheduled message may go out, how often the
    timer re-reads the sessions (edits made by the CLI or another process)."""

    grace_minutes: int = Field(10, ge=0)  # a reminder or card missed by up to this long is still sent
    sync_seconds: int = Field(30, ge=5)


class BrandSettings(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: str
    keywords: list[str] = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    intro: str = ""
    managers: list[str] = Field(default_factory=list)  # contact ids of course managers
    moderation: ModerationLimits = ModerationLimits()  # this brand's words and overrides
    groups: list[GroupSettings] = Field(min_length=1)
    courses: list[CourseSettings] = Field(min_length=1)


class RawSettings(_Model):
    platform: PlatformSettings
    levels: list[LevelSettings] = Field(min_length=3)
    vip_level: str | None = None
    commission: dict[str, Any]
    plans: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fan_lock: FanLockSettings = FanLockSettings()
    settlement: SettlementSettings = SettlementSettings()
    entry: EntrySettings = EntrySettings()
    upgrades: list[UpgradeSettings] = Field(default_factory=list)
    ops: list[str] = Field(default_factory=list)  # contact ids of ops staff
    brands: list[BrandSettings] = Field(min_length=1)
    database: DatabaseSettings = DatabaseSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    fleet: FleetSettings = FleetSettings()
    webhook: WebhookSettings = WebhookSettings()
    orders: OrderSettings = OrderSettings()
    admin: AdminSettings = AdminSettings()
    console: ConsoleSettings = ConsoleSettings()
    demo: DemoSettings = DemoSettings()
    transport: TransportSettings = TransportSettings()
    outbox: OutboxSettings = OutboxSettings()
    brand_groups: BrandGroupFillSettings = BrandGroupFillSettings()
    material: MaterialSettings = MaterialSettings()
    dm: DmSettings = DmSettings()
    answers: AnswerSettings = AnswerSettings()
    colearning: ColearningSettings = ColearningSettings()
    withdrawals: WithdrawalSettings = WithdrawalSettings()
    moderation: ModerationSettings = ModerationSettings()


@dataclass(frozen=True)
class Settings:
    """Checked configuration with the core's rule objects built from it."""

    raw: RawSettings
    plan: CommissionPlan
    plans: Mapping[str, CommissionPlan]
    source: str

    @property
    def level_codes(self) -> tuple[str, ...]:
        return tuple(level.code for level in self.raw.levels)

    @cached_property
    def fan_lock(self) -> FanLockRule:
        lock = self.raw.fan_lock
        return FanLockRule(lock.mode, lock.period_days, lock.protection_days)

    @cached_property
    def entry(self) -> EntryRules:
        e = self.raw.entry
        reach = ReachRule(e.reach.min_friends, e.reach.min_groups, e.reach.review) if e.reach else None
        return EntryRules(frozenset(e.paths), e.purchase_threshold, reach)

    @cached_property
    def upgrades(self) -> tuple[UpgradeStep, ...]:
        return tuple(UpgradeStep(u.from_level, u.to_level, tuple(dict(s) for s in u.any_of)) for u in self.raw.upgrades)

    @cached_property
    def courses(self) -> dict[str, CourseSettings]:
        return {c.sku: c for b in self.raw.brands for c in b.courses}

    @cached_property
    def course_brand(self) -> dict[str, str]:
        return {c.sku: b.id for b in self.raw.brands for c in b.courses}

    @cached_property
    def bound_targets(self) -> frozenset[str]:
        """Full-price courses that some trial is bound to."""
        return frozenset(c.bound_to for c in self.courses.values() if c.bound_to)

    def moderation_policy(self, brand_id: str) -> ModerationPolicy:
        """The moderation policy of one brand's groups: the platform's rules with the brand's
        words added and its overrides applied; the sellers' room on top of that."""
        return self._moderation_policies[brand_id]

    @cached_property
    def _moderation_policies(self) -> dict[str, ModerationPolicy]:
        return moderation_policies(self.raw.moderation, {b.id: b.moderation for b in self.raw.brands})

    @cached_property
    def order_terms(self) -> Terms:
        """The rules the order sequence runs under (:mod:`core.order_sequence`), the plan apart."""
        return Terms(
            courses={sku: course.terms() for sku, course in self.courses.items()},
            fan_lock=self.fan_lock,
            upgrades=self.upgrades,
            vip_levels=self.vip_levels,
            refund_window_days=self.raw.settlement.refund_window_days,
        )

    @property
    def accounts(self) -> list[str]:
        """Every helper account this process serves, its own (:attr:`helper_account`) first:
        ``DISTBOT_ACCOUNTS`` (comma-separated) or ``fleet.accounts`` add the others."""
        others = os.environ.get("DISTBOT_ACCOUNTS")
        extra = [a.strip() for a in others.split(",")] if others else list(self.raw.fleet.accounts)
        return list(dict.fromkeys([self.helper_account, *(a for a in extra if a)]))

    @cached_property
    def brands(self) -> dict[str, BrandSettings]:
        return {b.id: b for b in self.raw.brands}

    @cached_property
    def levels(self) -> dict[str, LevelSettings]:
        return {level.code: level for level in self.raw.levels}

    @cached_property
    def brand_words(self) -> tuple[BrandWords, ...]:
        """Each brand's keywords and aliases, for :func:`core.keywords.match_brands`."""
        return tuple(BrandWords(b.id, (*b.keywords, *b.aliases)) for b in self.raw.brands)

    @property
    def helper_account(self) -> str:
        """The helper account this process sends as: DISTBOT_HELPER_ACCOUNT, else the config's
        platform.helper_account. Run one process per helper account on a shared database."""
        return os.environ.get("DISTBOT_HELPER_ACCOUNT") or self.raw.platform.helper_account

    @property
    def webhook_secret(self) -> str | None:
        return os.environ.get("DISTBOT_WEBHOOK_SECRET") or self.raw.webhook.secret

    @property
    def admin_token(self) -> str | None:
        return os.environ.get("DISTBOT_ADMIN_TOKEN") or self.raw.admin.token

    @property
    def wecom_corp_id(self) -> str:
        return os.environ.get("DISTBOT_WECOM_CORP_ID") or self.raw.transport.wecom.corp_id

    @property
    def wecom_secret(self) -> str:
        return os.environ.get("DISTBOT_WECOM_SECRET") or self.raw.transport.wecom.secret

    @property
    def wecom_token(self) -> str:
        return os.environ.get("DISTBOT_WECOM_TOKEN") or self.raw.transport.wecom.token

    @property
    def wecom_aes_key(self) -> str:
        return os.environ.get("DISTBOT_WECOM_AES_KEY") or self.raw.transport.wecom.aes_key

    @property
    def vip_levels(self) -> frozenset[str]:
        """Levels counted as VIP: the configured vip_level and everything above it."""
        codes = self.level_codes
        start = codes.index(self.raw.vip_level) if self.raw.vip_level else len(codes) - 1
        return frozenset(codes[start:])

    def warnings(self) -> list[Problem]:
        return advise(self.plan, self.entry, self.upgrades)


class ConfigError(Exception):
    """Every problem in a configuration, each with its file and line when known."""

    def __init__(self, source: str, problems: list[Problem], lines: dict[str, int] | None = None):
        self.source = source
        self.problems = problems
        self.lines = lines or {}
        super().__init__("\n".join(self.describe()))

    def describe(self) -> list[str]:
        return [where(self.source, self.lines, p) for p in self.problems]


def where(source: str, lines: dict[str, int], problem: Problem) -> str:
    line = locate(lines, problem.path)
    place = f"{source}:{line}" if line else source
    return f"{place}: {problem.path}: {problem.message}"


def config_path(explicit: str | os.PathLike[str] | None = None) -> FsPath:
    return FsPath(explicit or os.environ.get("DISTBOT_CONFIG") or DEFAULT_CONFIG)


def load_settings(
    path: str | os.PathLike[str] | None = None, *, transport_kinds: Collection[str] | None = None
) -> Settings:
    """Read and check a configuration file; raise :class:`ConfigError` with every problem.
    ``transport_kinds``: the transports that can run here, which ``transport.kind`` must name."""
    file = config_path(path)
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(source, [Problem("(file)", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_settings(text, source, transport_kinds=transport_kinds)


def parse_settings(text: str, source: str = "<config>", *, transport_kinds: Collection[str] | None = None) -> Settings:
    lines = line_index(text)
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = {"(yaml)": mark.line + 1} if mark else {}
        raise ConfigError(source, [Problem("(yaml)", f"not valid YAML: {exc}")], line) from None
    if not isinstance(data, Mapping):
        raise ConfigError(source, [Problem("(top)", "the file must be a mapping of sections")])
    try:
        raw = RawSettings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [_from_pydantic(e) for e in exc.errors()], lines) from None

    problems: list[Problem] = []
    levels = tuple(level.code for level in raw.levels)
    plan = _plan(raw.commission, levels, "commission", "configured", problems)
    plans = {"configured": plan} if plan else {}
    for name, other in raw.plans.items():
        built = _plan(other, levels, f"plans.{name}", name, problems)
        if built:
            plans[name] = built
    problems.extend(_cross_checks(raw))
    if transport_kinds is not None and raw.transport.kind not in transport_kinds:
        known = ", ".join(sorted(transport_kinds))
        problems.append(Problem("transport.kind", f"no transport {raw.transport.kind!r} here: one of {known}"))
    if problems or plan is None:
        raise ConfigError(source, problems, lines)
    return Settings(raw=raw, plan=plan, plans=plans, source=source)


def _plan(
    raw: Mapping[str, Any], levels: tuple[str, ...], where: str, name: str, problems: list[Problem]
) -> CommissionPlan | None:
    try:
        return build_plan(raw, levels, where=where, name=name)
    except ConfigProblems as exc:
        problems.extend(exc.problems)
        return None


def _from_pydantic(error: Mapping[str, Any]) -> Problem:
    path = ""
    for part in error["loc"]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required but missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown entry (check the spelling)"
    return Problem(path or "(top)", message)


def _cross_checks(raw: RawSettings) -> list[Problem]:
    problems: list[Problem] = []
    levels = [level.code for level in raw.levels]
    if len(set(levels)) != len(levels):
        problems.append(Problem("levels", "level codes repeat"))
    if raw.vip_level is not None and raw.vip_level not in levels:
        problems.append(Problem("vip_level", f"unknown level {raw.vip_level!r}"))

    for i, step in enumerate(raw.upgrades):
        for field_name, level in (("from", step.from_level), ("to", step.to_level)):
            if level not in levels:
                problems.append(Problem(f"upgrades[{i}].{field_name}", f"unknown level {level!r}"))
        known = step.from_level in levels and step.to_level in levels
        if known and levels.index(step.to_level) != levels.index(step.from_level) + 1:
            problems.append(Problem(f"upgrades[{i}]", f"{step.from_level}→{step.to_level} must go up one level"))
    seen_steps = [s.from_level for s in raw.upgrades]
    if len(set(seen_steps)) != len(seen_steps):
        problems.append(Problem("upgrades", "two steps start from the same level"))

    keywords: dict[str, str] = {}
    skus: dict[str, CourseSettings] = {}
    rooms: dict[str, str] = {}
    brand_ids: set[str] = set()
    for b, brand in enumerate(raw.brands):
        if brand.id in brand_ids:
            problems.append(Problem(f"brands[{b}].id", f"brand id {brand.id!r} repeats"))
        brand_ids.add(brand.id)
        # Each word is reported at its own entry (keywords[i] or aliases[i]), so the line is its line.
        words = [(f"keywords[{i}]", w) for i, w in enumerate(brand.keywords)]
        words += [(f"aliases[{i}]", w) for i, w in enumerate(brand.aliases)]
        for place, word in words:
            key = normalise_keyword(word)
            if not key:
                problems.append(Problem(f"brands[{b}].{place}", "an empty keyword"))
            elif key in keywords and keywords[key] != brand.id:
                problems.append(Problem(f"brands[{b}].{place}", f"{word!r} is also a keyword of {keywords[key]}"))
            keywords[key] = brand.id
        for g, group in enumerate(brand.groups):
            if group.room_id in rooms:
                problems.append(
                    Problem(f"brands[{b}].groups[{g}].room_id", f"room already used by {rooms[group.room_id]}")
                )
            rooms[group.room_id] = brand.id
        for c, course in enumerate(brand.courses):
            if course.sku in skus:
                problems.append(Problem(f"brands[{b}].courses[{c}].sku", f"sku {course.sku!r} repeats"))
            skus[course.sku] = course
            if course.stock is not None:
                for t in course.red_packet_thresholds:
                    if t >= course.stock:
                        problems.append(
                            Problem(
                                f"brands[{b}].courses[{c}].red_packet_thresholds",
                                f"threshold {t} is not below the stock {course.stock}",
                            )
                        )
    demo_codes = {d.code for d in raw.demo.distributors}
    for d, person in enumerate(raw.demo.distributors):
        if person.level not in levels:
            problems.append(Problem(f"demo.distributors[{d}].level", f"unknown level {person.level!r}"))
        if person.recruiter is not None and person.recruiter not in demo_codes:
            problems.append(Problem(f"demo.distributors[{d}].recruiter", f"no demo distributor {person.recruiter!r}"))
    for b, brand in enumerate(raw.brands):
        for c, course in enumerate(brand.courses):
            if course.bound_to is not None:
                target = skus.get(course.bound_to)
                if target is None:
                    problems.append(
                        Problem(f"brands[{b}].courses[{c}].bound_to", f"no course with sku {course.bound_to!r}")
                    )
                elif target.type is CourseKind.TRIAL:
                    problems.append(
                        Problem(f"brands[{b}].courses[{c}].bound_to", "must name a full-price course, not a trial")
                    )
    return problems


def normalise_keyword(text: str) -> str:
    """Full-width to half-width, lower case, no spaces: "Ｘｉｎｇ Huo" → "xinghuo"."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def moderation_policies(m: ModerationSettings, brands: Mapping[str, ModerationLimits]) -> dict[str, ModerationPolicy]:
    """Each brand's moderation policy: the platform's rules ``m`` with the brand's words added
    and its overrides applied (``brands``), the sellers' room on top of that."""
    policies = {}
    for brand_id, own in brands.items():

        def pick(name: str, own: ModerationLimits = own) -> Any:
            mine = getattr(own, name)
            return mine if mine is not None else getattr(m.rules, name)

        everyone = ModerationLimitsRule(
            words=tuple(dict.fromkeys([*m.rules.words, *own.words])),
            links=bool(pick("links")),
            qr_codes=bool(pick("qr_codes")),
            cards=bool(pick("cards")),
            max_mentions=pick("max_mentions"),
            flood_messages=pick("flood_messages"),
            flood_seconds=pick("flood_seconds") or 60,
        )
        sellers = replace(
            everyone,
            links=everyone.links and m.sellers.links,
            max_mentions=m.sellers.max_mentions,
            flood_messages=m.sellers.flood_messages,
        )
        policies[brand_id] = ModerationPolicy(
            everyone, sellers, m.strikes_to_remove, m.sellers.extra_strikes, timedelta(hours=m.window_hours)
        )
    return policies
