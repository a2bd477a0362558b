"""Masking personal data for group posts: names keep their first character and always get
two stars, so the length is hidden too; phones keep their first three and last four digits.
Example: 王小明 → 王**, 李娜 → 李**, 13812345678 → 138****5678."""

from __future__ import annotations


def mask_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        return "**"
    return name[0] + "**"


def mask_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"
