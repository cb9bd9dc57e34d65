"""Why the domain refuses a request, in words for people and a code for programs.

The domain raises these and knows nothing of HTTP: ``controller.api.errors`` turns them into
the API's JSON answer and ``controller.web`` into a page or a form message. ``en`` is the
API's wording, which API clients already read (a few carry a Vietnamese gloss, kept as they
were); ``vi`` is what a Vietnamese reader of the web pages sees.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal that changed nothing: ``code`` is stable for programs (``targets.unknown_zone``),
    ``field`` names the input it is about, if any."""

    def __init__(self, code: str, en: str, vi: str, *, field: str | None = None) -> None:
        super().__init__(en)
        self.code = code
        self.en = en
        self.vi = vi
        self.field = field

    def message(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


class InvalidInputError(DomainError):
    """The input is wrong: changing it would help."""


class NotFoundError(DomainError):
    """What the request names does not exist."""


class ForbiddenError(DomainError):
    """This account may not do this, whatever the input (e.g. the two-person rule)."""


class ConflictError(DomainError):
    """The input is fine but the current state forbids it (quiet hours, an alert already sent)."""


class TooLargeError(DomainError):
    """An upload over the configured limit."""


class UnsupportedMediaError(DomainError):
    """An upload that is not audio the pipeline can decode."""


class TooManyRequestsError(DomainError):
    """Too many requests from this address or for this thing lately: try again later."""


class UnavailableError(DomainError):
    """A service the request needs is down (every speech engine failed): not the caller's fault."""


class StorageFullError(DomainError):
    """The controller's own disk is full: not the caller's fault, and nothing was kept."""


def storage_full() -> StorageFullError:
    return StorageFullError(
        "storage.full",
        "the controller's disk is full: nothing was saved; free space on the server and try again",
        "Bộ nhớ của máy chủ đã đầy: chưa lưu gì; hãy giải phóng dung lượng rồi thử lại",
    )
