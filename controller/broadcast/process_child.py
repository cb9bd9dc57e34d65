"""The audio chain for an upload, run in a child process.

A recording is decoded whole to 48 kHz float32 and passes through the chain in a few copies:
about 100 MB at the peak for 3 minutes. Run inside the controller, that peak stays in its
resident size for good (the allocator keeps what it had) and adds to the memory every point's
delivery needs. A child process takes it instead and gives it all back when it exits; the
controller waits for it as it waited for the chain, in the request's worker thread.

The child gets its paths and settings as JSON on stdin and writes its answer as JSON to a file
(stdout may carry a library's chatter): the processing report, or the kind and message of an
``audio.errors.AudioError``, which the parent raises again as the same class.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from audio import errors
from audio.config import PipelineConfig
from audio.report import ProcessingReport

_ERRORS: dict[str, type[errors.AudioError]] = {
    cls.__name__: cls
    for cls in (
        errors.AudioError,
        errors.UnsupportedFormatError,
        errors.CorruptAudioError,
        errors.EmptyAudioError,
        errors.TooLongAudioError,
    )
}


class ProcessingFailedError(RuntimeError):
    """The child died without an answer (killed, out of memory): not the recording's fault."""


def process_in_child(src: Path, dst: Path, config: PipelineConfig) -> ProcessingReport:
    """``audio.pipeline.process_file(src, dst, config)`` in a child process."""
    answer = dst.with_name(dst.name + ".answer.json")
    job = {
        "src": str(src),
        "dst": str(dst),
        "answer": str(answer),
        "config": config.model_dump(mode="json"),
    }
    try:
        # -P: never import from the working directory, only from where this controller runs
        done = subprocess.run(
            [sys.executable, "-P", "-m", __name__],
            input=json.dumps(job).encode(),
            capture_output=True,
            check=False,
        )
        if done.returncode != 0 or not answer.exists():
            said = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise ProcessingFailedError(
                f"audio processing stopped (exit {done.returncode}): {' | '.join(said)}"
            )
        result = json.loads(answer.read_text())
    finally:
        answer.unlink(missing_ok=True)
    if "error" in result:
        raise _ERRORS.get(result["error"], errors.AudioError)(result["message"])
    return ProcessingReport.model_validate(result["report"])


def main() -> None:
    from audio.pipeline import process_file

    job = json.loads(sys.stdin.buffer.read())
    answer = Path(job["answer"])
    config = PipelineConfig.model_validate(job["config"])
    try:
        report = process_file(Path(job["src"]), Path(job["dst"]), config)
    except errors.AudioError as exc:
        answer.write_text(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return
    answer.write_text(json.dumps({"report": report.model_dump(mode="json")}))


if __name__ == "__main__":
    main()
