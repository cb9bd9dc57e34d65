"""`loa say TEXT OUT`: text-to-speech into an audio file (container from OUT's extension)."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from controller.config_loader import load
from controller.tts.engines import VOICES
from controller.tts.settings import TtsSettings, parse_engines


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="loa say",
        description="Read Vietnamese text aloud into an audio file (processed for broadcast).",
    )
    p.add_argument("text", help='the text to read; "-" reads it from standard input')
    p.add_argument("out", type=Path, help="output file: .ogg/.opus, .wav or .mp3")
    p.add_argument("--voice", default="vi", choices=VOICES, help="default: vi (Northern)")
    p.add_argument(
        "--engines",
        help="engine order, comma-separated (gtts, espeak, piper); default gtts,espeak "
        "or LOA_TTS_ENGINES",
    )
    p.add_argument(
        "--emergency", action="store_true", help="offline engines only: never wait for the internet"
    )
    p.add_argument(
        "--no-normalize", action="store_true", help="speak the text as written (no expansion)"
    )
    p.add_argument("--print-text", action="store_true", help="print the text as it will be spoken")
    p.add_argument("--abbreviations", type=Path, help="extra abbreviation table (TSV)")
    p.add_argument("--cache-dir", type=Path, help="speech cache (default ~/.cache/loalang/tts)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Engine failures are printed below; without this, logging's last-resort handler would
    # print each one a second time.
    logging.getLogger("controller.tts").addHandler(logging.NullHandler())
    try:
        return _say(args)
    except (ValueError, RuntimeError, OSError) as exc:  # TtsError and audio errors included
        print(f"loa say: {exc}", file=sys.stderr)
        return 2


def _say(args: argparse.Namespace) -> int:
    from audio.encode import container_for
    from controller.tts.synth import synthesize

    container = container_for(args.out)  # a bad output name fails before any work
    text = sys.stdin.read() if args.text == "-" else args.text
    # The controller configuration's tts section alone, from LOA_TTS_* and the options.
    settings = load(
        TtsSettings,
        prefix="LOA_TTS_",
        overrides={"abbreviations_path": args.abbreviations, "cache_dir": args.cache_dir},
    )
    engines = parse_engines(args.engines) if args.engines else None
    result = synthesize(
        text,
        voice=args.voice,
        engines=engines,
        settings=settings,
        emergency=args.emergency,
        normalize=not args.no_normalize,
    )
    if args.print_text:
        print(result.text)
    for attempt in result.attempts:
        if not attempt.ok:
            print(f"loa say: {attempt.engine}: {attempt.reason}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if container == "ogg":
        shutil.copyfile(result.path, args.out)
    else:
        _transcode(result.path, args.out)
    hit = " (cached)" if result.cache_hit else ""
    print(f"loa say: {args.out} via {result.engine}{hit}", file=sys.stderr)
    return 0


def _transcode(src: Path, dst: Path) -> None:
    """The cached speech is already processed; only the container changes (no second pass)."""
    from audio.decode import decode_file
    from audio.encode import write_audio

    decoded = decode_file(src)
    write_audio(dst, decoded.samples, decoded.sample_rate)


if __name__ == "__main__":
    sys.exit(main())
