"""SMS through a GSM/4G modem driven by ModemManager's ``mmcli``, for a commune without a
provider contract. ModemManager picks GSM-7 or UCS-2 and splits long texts itself.

Send: ``mmcli -m any --messaging-create-sms="number='+84…',text='…'"`` answers
"Successfully created new SMS: /org/freedesktop/ModemManager1/SMS/N"; then ``mmcli -s N --send``
and ``mmcli -m any --messaging-delete-sms=N``. Receive (the HUY keyword):
``mmcli -m any --messaging-list-sms`` lists "…/SMS/N (received)"; ``mmcli -s N -K`` gives
``sms.content.number`` and ``sms.content.text``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from controller.channel_settings import ModemSettings
from controller.emergency.channels.outcome import SENT, Outcome, failed, transient

CREATED = re.compile(r"/SMS/(\d+)")
RECEIVED = re.compile(r"/SMS/(\d+) \(received\)")


@dataclass(frozen=True)
class Received:
    index: str
    number: str
    text: str


def quoted(text: str) -> str:
    """mmcli reads key='value' with no escapes: a value holding one kind of quote is put in the
    other; holding both, its apostrophes become typographic ones (’)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return "'" + text.replace("'", "’") + "'"


class ModemSms:
    def __init__(self, settings: ModemSettings, timeout_s: float) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def run(self, *args: str) -> subprocess.CompletedProcess[str] | Outcome:
        command = [self.settings.mmcli, *args]
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return transient("the modem did not answer in time")
        except OSError as exc:
            return failed(f"cannot run {self.settings.mmcli}: {exc.strerror}")

    def deliver(self, number: str, text: str) -> Outcome:
        spec = f"number={quoted(number)},text={quoted(text)}"
        made = self.run("-m", self.settings.modem, f"--messaging-create-sms={spec}")
        if isinstance(made, Outcome):
            return made
        found = CREATED.search(made.stdout)
        if made.returncode != 0 or found is None:
            return transient(f"the modem did not take the SMS: {self.error(made)}")
        index = found.group(1)
        sent = self.run("-s", index, "--send")
        self.run("-m", self.settings.modem, f"--messaging-delete-sms={index}")
        if isinstance(sent, Outcome):
            return sent
        if sent.returncode != 0:
            return transient(f"the modem could not send: {self.error(sent)}")
        return SENT

    def received(self) -> list[Received]:
        """Messages the modem received, each deleted from the modem once read."""
        listed = self.run("-m", self.settings.modem, "--messaging-list-sms")
        if isinstance(listed, Outcome) or listed.returncode != 0:
            return []
        messages = []
        for index in RECEIVED.findall(listed.stdout):
            shown = self.run("-s", index, "-K")
            if isinstance(shown, Outcome) or shown.returncode != 0:
                continue
            fields = dict(
                (key.strip(), value.strip())
                for key, _, value in (line.partition(":") for line in shown.stdout.splitlines())
            )
            messages.append(
                Received(
                    index, fields.get("sms.content.number", ""), fields.get("sms.content.text", "")
                )
            )
            self.run("-m", self.settings.modem, f"--messaging-delete-sms={index}")
        return messages

    @staticmethod
    def error(done: subprocess.CompletedProcess[str]) -> str:
        return (done.stderr or done.stdout).strip()[:200] or f"exit status {done.returncode}"
