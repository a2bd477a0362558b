"""Which outbox rows go first: every row gets a priority from the kind of message when it is
queued, and the sender takes the lowest number first (then group posts before DMs, then the
oldest). At a slow, safe pace a backlog is hours long; this is what decides who waits.

| priority | tier | messages |
| --- | --- | --- |
| 0 | live | relay lines and a push's posts, red packets, announcements, co-learning relays and reminders |
| 1 | earned | "you earned", level-ups, claw-backs; what a manager or ops must act on |
| 2 | welcome | welcomes, group adds and invitations, friend accepts, applications decided, the daily post |
| 3 | answer | answers to commands: earnings, progress, codes, stock, leaderboards, refusals |
| 4 | menu | the brand menu and its reminder, how to join, "稍后再试" |

Rows of the lowest tier are also the ones capped per account (``outbox.low_priority_cap``).
"""

from __future__ import annotations

from enum import IntEnum


class Priority(IntEnum):
    LIVE = 0
    EARNED = 1
    WELCOME = 2
    ANSWER = 3
    MENU = 4


LOW = Priority.MENU  # the tier capped per account

_TIERS: dict[Priority, tuple[str, ...]] = {
    Priority.LIVE: (
        "relay_line",
        "relay_digest",  # composed by the sender from queued relay lines, which are LIVE
        "digest_more",  # the last line of a digest cut to WeCom's length: part of a LIVE post
        "relay_started",
        "relay_final",
        "relay_top",
        "red_packet_announcement",
        "announcement",
        "moderation_warning",
        "moderation_removed",
        "colearning_relay",
        "colearning_relay_image",
        "colearning_reminder",
        "colearning_started",
        "colearning_ended",
        "colearning_course_card",
        "colearning_cancelled",
        "colearning_rescheduled",
    ),
    Priority.EARNED: (
        "earned_dm",
        "level_up_dm",
        "clawback_dm",
        "red_packet_manager_dm",
        "showcase_manager_dm",
        "new_recruit_dm",
        "groups_full_ops",
        "group_created_ops",
        "entry_application_ops",
        "colearning_ops_new",
        "friend_request_ops",
        "withdrawal_ops",
        "moderation_remove_ops",
        "moderation_appeal_ops",
        "moderation_removed_dm",
        "moderation_undone",
        "moderation_upheld",
        "withdrawal_approved",
        "withdrawal_rejected",
    ),
    Priority.WELCOME: (
        "registered",
        "group_welcome",
        "group_joined",
        "group_join_code",
        "group_created",
        "wecom_welcome",  # sent by the wecom transport itself (send_welcome_msg), never queued
        "colearning_received",
        "colearning_approved",
        "colearning_rejected",
        "entry_application_rejected",
        "material_post",
    ),
    Priority.ANSWER: (
        "earnings_dm",
        "progress_dm",
        "my_code",
        "my_code_cannot_recruit",
        "register_refused",
        "register_wait",
        "reach_application",
        "group_already_in",
        "groups_full_wait",
        "stock_set",
        "stock_usage",
        "announce_usage",
        "manager_only",
        "relay_already_open",
        "relay_not_open",
        "leaderboard",
        "leaderboard_poster",
        "leaderboard_cooldown",
        "leaderboard_usage",
        "material_command",
        "showcase_recorded",
        "showcase_refused",
        "colearning_apply_steps",
        "colearning_not_distributor",
        "error_fallback",
        "withdrawal_status",
        "withdrawal_refused",
        "withdrawal_usage",
        "withdrawal_requested",
        "moderation_appeal_received",
        "moderation_appeal_none",
    ),
    Priority.MENU: ("menu", "menu_reminder", "how_to_join", "answer_later"),
}
BY_TEMPLATE: dict[str, Priority] = {name: tier for tier, names in _TIERS.items() for name in names}
# Actions a person is waiting for, not texts: they travel with the welcomes.
BY_KIND: dict[str, Priority] = {
    "room_add": Priority.WELCOME,
    "room_invite": Priority.WELCOME,
    "friend_accept": Priority.WELCOME,
    "room_invitation_accept": Priority.WELCOME,
    "room_remove": Priority.LIVE,  # moderation: out before the ad poster posts again
}


def priority_of(kind: str, template: str) -> Priority:
    """The priority of a row about to be queued: by its kind for actions, else by its template
    (an unlisted template is treated as a command answer).

    Example: ("text", "relay_line") → LIVE (0); ("room_add", "") → WELCOME (2);
    ("text", "menu") → MENU (4)."""
    if kind in BY_KIND:
        return BY_KIND[kind]
    return BY_TEMPLATE.get(template, Priority.ANSWER)
