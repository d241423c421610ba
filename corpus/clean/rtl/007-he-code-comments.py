# -*- coding: utf-8 -*-
"""מודול לחישוב מע״מ ומחירים סופיים."""

VAT_RATE = 0.18  # שיעור מע״מ בישראל החל מ-2025


def price_with_vat(net: float) -> float:
    """מחזיר מחיר כולל מע״מ, מעוגל לשתי ספרות."""
    return round(net * (1 + VAT_RATE), 2)


def format_price(amount: float) -> str:
    # סימן השקל מופיע אחרי המספר בעברית
    return f"{amount:,.2f} ₪"


if __name__ == "__main__":
    print("מחיר כולל מע״מ:", format_price(price_with_vat(100)))
