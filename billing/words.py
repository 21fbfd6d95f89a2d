"""Amounts in Vietnamese words, as an invoice writes them: ``Một triệu hai trăm năm mươi nghìn đồng``.

Written here rather than taken from num2words: its Vietnamese reads 2,015 as "hai nghìn lẻ mười
lăm" and 1,000,001 as "một triệu lẻ một", where an invoice needs "hai nghìn không trăm mười lăm"
and "một triệu không trăm lẻ một" (every group after the first is read with its hundreds). The
rules, from the Ministry of Finance's invoice practice:

* groups of three digits, named nghìn, triệu, tỷ; above a thousand tỷ the names repeat (nghìn tỷ);
* a group after the first is read in full: ``không trăm`` when its hundreds digit is 0;
* tens: ``lẻ`` before a lone unit (105: một trăm lẻ năm), ``mười`` for 1, ``… mươi`` otherwise;
* units: ``mốt`` for 1 after tens of 2 or more, ``lăm`` for 5 after any tens, ``tư`` for 4 after
  tens of 2 or more;
* empty groups are skipped (1,000,000: một triệu).
"""

from __future__ import annotations

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
GROUPS = ("", "nghìn", "triệu")


def _three(number: int, *, full: bool) -> list[str]:
    """Words for 0 < number < 1000; ``full`` reads the hundreds even when 0 (a group after the first)."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if hundreds or full:
        words += [DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:
                words.append("lẻ")
            words.append(DIGITS[units])
        return words
    words += ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1:
        words.append("mốt" if tens >= 2 else "một")
    elif units == 4:
        words.append("tư" if tens >= 2 else "bốn")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def _below_billion(number: int, *, leading: bool) -> list[str]:
    """Words for 0 < number < 10^9; ``leading``: nothing was read before it."""
    groups = []
    while number:
        number, group = divmod(number, 1000)
        groups.append(group)
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if not group:
            continue
        full = not (leading and not words)
        words += _three(group, full=full)
        if GROUPS[index]:
            words.append(GROUPS[index])
    return words


def integer_words(number: int) -> str:
    """A whole number in Vietnamese words, lower case (``âm`` before a negative one)."""
    if number == 0:
        return DIGITS[0]
    if number < 0:
        return f"âm {integer_words(-number)}"
    billions, rest = divmod(number, 10**9)
    words: list[str] = []
    if billions:
        words += [*integer_words(billions).split(), "tỷ"]
    if rest:
        words += _below_billion(rest, leading=not billions)
    return " ".join(words)


def vnd_in_words(amount: int) -> str:
    """An amount of đồng as an invoice writes it: first letter capital, ``đồng`` at the end."""
    text = f"{integer_words(int(amount))} đồng"
    return text[0].upper() + text[1:]
