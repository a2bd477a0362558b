"""Who may become a distributor, and with which recruiter.

Paths in (any combination, from config ``entry.paths``):

- ``code``: register with a code — a distributor's personal code (the owner becomes the
  recruiter, if their level may recruit) or a single-use platform code (no recruiter);
- ``open``: register with no code at all (an invite code is not required);
- ``purchase``: automatic entry at the lowest level once cumulative self-purchases reach a
  threshold (e.g. 99 yuan); the recruiter is the distributor the buyer is locked to;
- ``reach``: a declared reach (WeChat friends or groups) at or above a minimum, admitted
  directly or after ops review.

Example: paths [code, purchase], threshold 99: someone with 60 yuan of purchases and no code is
refused (``code_required``); at 99.00 they are admitted, recruited by their lock holder.

Recruiter links never form a loop: :func:`check_recruiter` refuses a link that would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.money import ZERO


class Path(StrEnum):
    CODE = "code"
    OPEN = "open"
    PURCHASE = "purchase"
    REACH = "reach"


class Outcome(StrEnum):
    ADMITTED = "admitted"
    REVIEW = "review"
    REFUSED = "refused"


class Refusal(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    USED_CODE = "used_code"
    RECRUITER_CANNOT_RECRUIT = "recruiter_cannot_recruit"
    RECRUITER_INACTIVE = "recruiter_inactive"
    OWN_CODE = "own_code"
    ALREADY_DISTRIBUTOR = "already_distributor"
    CODE_REQUIRED = "code_required"
    CODES_NOT_ACCEPTED = "codes_not_accepted"


class CodeKind(StrEnum):
    PERSONAL = "personal"
    PLATFORM = "platform"


@dataclass(frozen=True)
class ReachRule:
    min_friends: int | None = None
    min_groups: int | None = None
    review: bool = True

    def met(self, friends: int, groups: int) -> bool:
        return (self.min_friends is not None and friends >= self.min_friends) or (
            self.min_groups is not None and groups >= self.min_groups
        )


@dataclass(frozen=True)
class EntryRules:
    paths: frozenset[Path] = frozenset({Path.CODE})
    purchase_threshold: Decimal | None = None
    reach: ReachRule | None = None


@dataclass(frozen=True)
class CodeFacts:
    """What the caller found for a presented code. ``kind=None`` means no such code."""

    kind: CodeKind | None
    owner: str | None = None  # personal codes: the distributor it belongs to
    owner_may_recruit: bool = True
    owner_active: bool = True
    used: bool = False  # platform codes are single-use


@dataclass(frozen=True)
class Applicant:
    person: str
    code: CodeFacts | None = None
    already_distributor: bool = False
    self_purchase_total: Decimal = ZERO
    locked_to: str | None = None
    declared_friends: int = 0
    declared_groups: int = 0


@dataclass(frozen=True)
class EntryDecision:
    outcome: Outcome
    path: Path | None = None
    recruiter: str | None = None
    refusal: Refusal | None = None
    consumes_platform_code: bool = False


def decide_entry(applicant: Applicant, rules: EntryRules) -> EntryDecision:
    """Admit, send to review, or refuse (with the reason to tell the person)."""
    if applicant.already_distributor:
        return EntryDecision(Outcome.REFUSED, refusal=Refusal.ALREADY_DISTRIBUTOR)
    code = applicant.code
    if code is not None:
        if Path.CODE not in rules.paths:
            return EntryDecision(Outcome.REFUSED, refusal=Refusal.CODES_NOT_ACCEPTED)
        if code.kind is None:
            return EntryDecision(Outcome.REFUSED, refusal=Refusal.UNKNOWN_CODE)
        if code.kind is CodeKind.PLATFORM:
            if code.used:
                return EntryDecision(Outcome.REFUSED, refusal=Refusal.USED_CODE)
            return EntryDecision(Outcome.ADMITTED, Path.CODE, consumes_platform_code=True)
        if code.owner == applicant.person:
            return EntryDecision(Outcome.REFUSED, refusal=Refusal.OWN_CODE)
        if not code.owner_active:
            return EntryDecision(Outcome.REFUSED, refusal=Refusal.RECRUITER_INACTIVE)
        if not code.owner_may_recruit:
            return EntryDecision(Outcome.REFUSED, refusal=Refusal.RECRUITER_CANNOT_RECRUIT)
        return EntryDecision(Outcome.ADMITTED, Path.CODE, recruiter=code.owner)

    if (
        Path.PURCHASE in rules.paths
        and rules.purchase_threshold is not None
        and applicant.self_purchase_total >= rules.purchase_threshold
    ):
        recruiter = applicant.locked_to if applicant.locked_to != applicant.person else None
        return EntryDecision(Outcome.ADMITTED, Path.PURCHASE, recruiter=recruiter)
    if (
        Path.REACH in rules.paths
        and rules.reach is not None
        and rules.reach.met(applicant.declared_friends, applicant.declared_groups)
    ):
        outcome = Outcome.REVIEW if rules.reach.review else Outcome.ADMITTED
        return EntryDecision(outcome, Path.REACH)
    if Path.OPEN in rules.paths:
        return EntryDecision(Outcome.ADMITTED, Path.OPEN)
    return EntryDecision(Outcome.REFUSED, refusal=Refusal.CODE_REQUIRED)


class RecruiterLoop(ValueError):
    pass


def check_recruiter(distributor: str, recruiter: str | None, recruiter_of: Mapping[str, str | None]) -> None:
    """Refuse a recruiter link that would make ``distributor`` their own (indirect) recruiter.

    Example: Li recruited Wang (``{"wang": "li"}``); making Wang Li's recruiter would loop.
    """
    seen = {distributor}
    current = recruiter
    while current is not None:
        if current in seen:
            raise RecruiterLoop(f"{distributor} cannot be recruited by {recruiter}: the links would loop")
        seen.add(current)
        current = recruiter_of.get(current)
