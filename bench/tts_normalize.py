"""How long the Vietnamese normaliser takes on commune text and on text made to be slow.

    .venv/bin/python -m bench.tts_normalize --chars 5000 20000

A bulletin's text may be 20,000 characters (the API's limit), and the "Đọc là" preview runs the
normaliser on what a broadcaster types. Each case repeats one pattern up to ``chars``
characters: real commune sentences (tests/controller/tts/data/commune_sentences.tsv), and runs
of what each rule matches (ranges, dates or fractions, legal references, times, phones, long
digit runs, emoji, hyphenated letters that an address pattern could backtrack on). Prints the
time of one normalisation, best of ``repeat``, and per 1,000 characters: if a rule ever looks
at the whole text for each match again, the per-1,000 figure grows with the length instead of
staying flat.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from controller.tts.normalize import Normalizer

TABLE = Path(__file__).parent.parent / "tests/controller/tts/data/commune_sentences.tsv"


def commune_text() -> str:
    lines = TABLE.read_text("utf-8").splitlines()
    return " ".join(line.split("\t")[1] for line in lines if line and not line.startswith("#"))


CASES = {
    "commune sentences": commune_text(),
    "ranges 5-7 ngày": "5-7 ngày ",
    "a/b (dates, fractions)": "1/2 ",
    "legal 15/QĐ-UBND": "15/QĐ-UBND ",
    "times 7h30-": "7h30-",
    "phones": "0912 345 678 ",
    "one run of digits": "1",
    "emoji": "📢",
    "hyphens a-a-a (addresses)": "a-",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    normalize = Normalizer()
    print(f"| {'case':26} | {'chars':>6} | {'ms':>8} | {'ms / 1,000 chars':>16} |")
    print(f"|{'-' * 28}|{'-' * 8}|{'-' * 10}|{'-' * 18}|")
    for name, unit in CASES.items():
        for chars in args.chars:
            text = (unit * (chars // len(unit) + 1))[:chars]
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                normalize(text)
                best = min(best, time.perf_counter() - t0)
            ms = best * 1000
            print(f"| {name:26} | {chars:>6} | {ms:8.1f} | {ms / chars * 1000:16.2f} |")


if __name__ == "__main__":
    main()
