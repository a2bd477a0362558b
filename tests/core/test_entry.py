"""Rule 8: who may become a distributor, by which path, and with which recruiter; recruiter
links never loop."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.entry import (
    Applicant,
    CodeFacts,
    CodeKind,
    EntryRules,
    Outcome,
    Path,
    ReachRule,
    RecruiterLoop,
    Refusal,
    check_recruiter,
    decide_entry,
)

CODE_ONLY = EntryRules(paths=frozenset({Path.CODE}))
CODE_OR_PURCHASE = EntryRules(paths=frozenset({Path.CODE, Path.PURCHASE}), purchase_threshold=Decimal("99.00"))


def personal(owner: str = "li", **kwargs) -> CodeFacts:
    return CodeFacts(CodeKind.PERSONAL, owner=owner, **kwargs)


# --- code path --------------------------------------------------------------------------------


def test_without_a_code_someone_is_refused_when_a_code_is_required():
    decision = decide_entry(Applicant("wang"), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.CODE_REQUIRED)


def test_a_personal_code_admits_the_person_with_the_codes_owner_as_recruiter():
    decision = decide_entry(Applicant("wang", code=personal("li")), CODE_ONLY)
    assert (decision.outcome, decision.path, decision.recruiter) == (Outcome.ADMITTED, Path.CODE, "li")
    assert decision.consumes_platform_code is False


def test_a_personal_code_of_an_owner_whose_level_may_not_recruit_is_refused():
    decision = decide_entry(Applicant("wang", code=personal("li", owner_may_recruit=False)), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.RECRUITER_CANNOT_RECRUIT)
    assert decision.recruiter is None


def test_a_personal_code_of_an_inactive_owner_is_refused():
    decision = decide_entry(Applicant("wang", code=personal("li", owner_active=False)), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.RECRUITER_INACTIVE)


def test_someone_presenting_their_own_code_is_refused():
    decision = decide_entry(Applicant("li", code=personal("li")), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.OWN_CODE)


def test_an_unused_platform_code_admits_the_person_with_no_recruiter_and_uses_the_code_up():
    decision = decide_entry(Applicant("wang", code=CodeFacts(CodeKind.PLATFORM)), CODE_ONLY)
    assert (decision.outcome, decision.path, decision.recruiter) == (Outcome.ADMITTED, Path.CODE, None)
    assert decision.consumes_platform_code is True


def test_a_platform_code_that_was_already_used_is_refused():
    decision = decide_entry(Applicant("wang", code=CodeFacts(CodeKind.PLATFORM, used=True)), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.USED_CODE)
    assert decision.consumes_platform_code is False


def test_an_unknown_code_is_refused():
    decision = decide_entry(Applicant("wang", code=CodeFacts(None)), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.UNKNOWN_CODE)


def test_a_code_is_refused_when_the_platform_does_not_take_codes():
    decision = decide_entry(Applicant("wang", code=personal("li")), EntryRules(paths=frozenset({Path.OPEN})))
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.CODES_NOT_ACCEPTED)


def test_someone_who_is_already_a_distributor_is_refused_even_with_a_valid_code():
    decision = decide_entry(Applicant("wang", code=personal("li"), already_distributor=True), CODE_ONLY)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.ALREADY_DISTRIBUTOR)


# --- open, purchase and reach paths -----------------------------------------------------------


def test_the_open_path_admits_without_a_code_and_without_a_recruiter():
    decision = decide_entry(Applicant("wang"), EntryRules(paths=frozenset({Path.OPEN})))
    assert (decision.outcome, decision.path, decision.recruiter) == (Outcome.ADMITTED, Path.OPEN, None)


def test_purchases_below_the_threshold_do_not_admit_and_a_code_is_still_required():
    decision = decide_entry(Applicant("wang", self_purchase_total=Decimal("98.99"), locked_to="li"), CODE_OR_PURCHASE)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.CODE_REQUIRED)


def test_the_docstring_example_sixty_yuan_of_purchases_and_no_code_is_refused():
    decision = decide_entry(Applicant("wang", self_purchase_total=Decimal("60.00")), CODE_OR_PURCHASE)
    assert decision.refusal is Refusal.CODE_REQUIRED


def test_purchases_of_exactly_the_threshold_admit_the_buyer_recruited_by_their_lock_holder():
    decision = decide_entry(Applicant("wang", self_purchase_total=Decimal("99.00"), locked_to="li"), CODE_OR_PURCHASE)
    assert (decision.outcome, decision.path, decision.recruiter) == (Outcome.ADMITTED, Path.PURCHASE, "li")


def test_a_buyer_admitted_on_purchases_with_no_lock_has_no_recruiter():
    decision = decide_entry(Applicant("wang", self_purchase_total=Decimal("500.00")), CODE_OR_PURCHASE)
    assert (decision.outcome, decision.recruiter) == (Outcome.ADMITTED, None)


def test_a_declared_reach_above_the_minimum_goes_to_review_when_review_is_on():
    rules = EntryRules(paths=frozenset({Path.CODE, Path.REACH}), reach=ReachRule(min_friends=300, review=True))
    decision = decide_entry(Applicant("wang", declared_friends=300), rules)
    assert (decision.outcome, decision.path) == (Outcome.REVIEW, Path.REACH)


def test_a_declared_reach_above_the_minimum_admits_directly_when_review_is_off():
    rules = EntryRules(paths=frozenset({Path.CODE, Path.REACH}), reach=ReachRule(min_groups=2, review=False))
    decision = decide_entry(Applicant("wang", declared_groups=2), rules)
    assert (decision.outcome, decision.path) == (Outcome.ADMITTED, Path.REACH)


def test_a_declared_reach_below_the_minimum_is_refused_with_code_required():
    rules = EntryRules(paths=frozenset({Path.CODE, Path.REACH}), reach=ReachRule(min_friends=300, min_groups=2))
    decision = decide_entry(Applicant("wang", declared_friends=299, declared_groups=1), rules)
    assert (decision.outcome, decision.refusal) == (Outcome.REFUSED, Refusal.CODE_REQUIRED)


# --- recruiter links --------------------------------------------------------------------------


def test_nobody_can_be_their_own_recruiter():
    with pytest.raises(RecruiterLoop, match="loop"):
        check_recruiter("li", "li", {})


def test_a_link_that_would_close_a_loop_a_b_c_a_is_refused():
    recruiter_of = {"a": "b", "b": "c"}  # b recruited a, c recruited b
    with pytest.raises(RecruiterLoop):
        check_recruiter("c", "a", recruiter_of)


def test_the_docstring_example_wang_cannot_become_the_recruiter_of_li_who_recruited_him():
    with pytest.raises(RecruiterLoop):
        check_recruiter("li", "wang", {"wang": "li"})


def test_a_fresh_link_under_an_existing_chain_is_accepted():
    assert check_recruiter("d", "a", {"a": "b", "b": "c", "c": None}) is None
    assert check_recruiter("d", None, {"a": "b"}) is None


@st.composite
def link_attempts(draw):
    people = [f"p{i}" for i in range(draw(st.integers(min_value=2, max_value=8)))]
    return people, draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(people)), max_size=40))


@settings(max_examples=200, deadline=None)
@given(link_attempts())
def test_recruiter_links_accepted_by_the_check_always_lead_up_to_someone_with_no_recruiter(attempt):
    people, links = attempt
    recruiter_of: dict[str, str | None] = {}
    for distributor, recruiter in links:  # includes re-linking someone who already has a recruiter
        try:
            check_recruiter(distributor, recruiter, recruiter_of)
        except RecruiterLoop:
            continue
        recruiter_of[distributor] = recruiter
    for start in people:
        seen, current = set(), start
        while current is not None:
            assert current not in seen, f"loop through {current}"
            seen.add(current)
            current = recruiter_of.get(current)
