"""Each channel against a local server (or a fake mmcli) that records what it received."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from controller.channel_settings import HttpGateway, ModemSettings, ZaloSettings
from controller.emergency.channels.boards import HttpBoard
from controller.emergency.channels.modem import ModemSms
from controller.emergency.channels.outcome import SENT, failed
from controller.emergency.channels.sms_gateway import GatewaySms
from controller.emergency.channels.zalo import ZaloOa
from tests.support.recorder import Answer, recorder

TEXT = "Bão số 5: đề nghị bà con vào nơi trú ẩn an toàn"


@pytest.fixture
def client():
    with httpx.Client(timeout=2) as made:
        yield made


def test_the_gateway_posts_the_configured_json_shape(client):
    with recorder() as server:
        gateway = HttpGateway(
            url=server.url + "/send",
            body={
                "Phone": "{number}",
                "Content": "{text}",
                "Brandname": "{brandname}",
                "SmsType": 2,
                "Extra": "not {text}",
            },
            headers={"X-Api-Key": "k-123"},
            brandname="UBND XA",
            success_field="CodeResult",
            success_value="100",
        )
        server.default = Answer(body='{"CodeResult": "100"}')
        assert GatewaySms(gateway, client).deliver("+84912345678", TEXT) == SENT
    (got,) = server.received
    assert got.path == "/send"
    assert got.headers["X-Api-Key"] == "k-123"
    assert got.json() == {
        "Phone": "84912345678",
        "Content": TEXT,
        "Brandname": "UBND XA",
        "SmsType": 2,
        "Extra": "not {text}",
    }


def test_the_gateway_posts_a_form_with_basic_credentials_and_the_national_number(client):
    with recorder() as server:
        gateway = HttpGateway(
            url=server.url,
            format="form",
            body={"to": "{number}", "msg": "{text}"},
            username="xa",
            password="mat-khau",
            number_format="0",
        )
        assert GatewaySms(gateway, client).deliver("+84912345678", TEXT) == SENT
    (got,) = server.received
    assert parse_qs(got.body.decode()) == {"to": ["0912345678"], "msg": [TEXT]}
    assert got.headers["Authorization"] == httpx.BasicAuth("xa", "mat-khau")._auth_header


def test_a_gateway_refusal_in_a_200_is_a_final_failure(client):
    with recorder() as server:
        server.default = Answer(body='{"CodeResult": "99", "ErrorMessage": "Brandname chua dk"}')
        gateway = HttpGateway(url=server.url, success_field="CodeResult", success_value="100")
        outcome = GatewaySms(gateway, client).deliver("+84912345678", TEXT)
    assert not outcome.ok
    assert not outcome.retryable
    assert "CodeResult=99" in outcome.reason


@pytest.mark.parametrize(
    ("answer", "retryable", "wait", "reason"),
    [
        (Answer(503, "busy"), True, None, "HTTP 503: busy"),
        (Answer(429, "slow down", {"Retry-After": "42"}), True, 42, "HTTP 429: slow down"),
        (Answer(401, "bad key"), False, None, "HTTP 401: bad key"),
    ],
)
def test_gateway_errors_are_classified(client, answer, retryable, wait, reason):
    with recorder() as server:
        server.default = answer
        outcome = GatewaySms(HttpGateway(url=server.url), client).deliver("+84912345678", TEXT)
    assert (outcome.ok, outcome.retryable, outcome.retry_after_s, outcome.reason) == (
        False,
        retryable,
        wait,
        reason,
    )


def test_a_gateway_that_never_answers_is_a_timeout_to_retry():
    with recorder() as server, httpx.Client(timeout=0.3) as impatient:
        server.default = Answer(hang=True)
        outcome = GatewaySms(HttpGateway(url=server.url), impatient).deliver("+84912345678", TEXT)
    assert outcome.retryable
    assert "no answer from 127.0.0.1 in time" in outcome.reason


def test_an_unreachable_gateway_is_retried(client):
    with recorder() as server:
        url = server.url
    outcome = GatewaySms(HttpGateway(url=url), client).deliver("+84912345678", TEXT)
    assert outcome.retryable
    assert "cannot reach" in outcome.reason


def test_zalo_gets_its_documented_request(client):
    with recorder() as server:
        server.default = Answer(body='{"error": 0, "message": "Success", "data": {}}')
        settings = ZaloSettings(access_token="oa-token", base_url=server.url, user_ids=["u1"])
        assert ZaloOa(settings, client).deliver("u1", TEXT) == SENT
    (got,) = server.received
    assert got.path == "/v3.0/oa/message/cs"
    assert got.headers["access_token"] == "oa-token"
    assert got.json() == {"recipient": {"user_id": "u1"}, "message": {"text": TEXT}}


def test_a_zalo_error_code_is_a_failure_with_its_message(client):
    with recorder() as server:
        server.default = Answer(body='{"error": -216, "message": "Access token is invalid"}')
        settings = ZaloSettings(access_token="old", base_url=server.url, user_ids=["u1"])
        outcome = ZaloOa(settings, client).deliver("u1", TEXT)
    assert outcome == failed("Zalo error -216: Access token is invalid")


def test_a_board_gets_the_json_document(client):
    document = json.dumps({"version": 1, "type": "alert", "text": TEXT}, ensure_ascii=False)
    with recorder() as server:
        assert (
            HttpBoard({"X-Board-Key": "b"}, client).deliver(server.url + "/alert", document) == SENT
        )
        server.default = Answer(502)
        assert HttpBoard({}, client).deliver(server.url, document).retryable
    got = server.received[0]
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Board-Key"] == "b"
    assert got.json()["text"] == TEXT


FAKE_MMCLI = """#!/bin/sh
printf '%s\\n' "$@" >> "{log}"
printf '%s\\n' "--" >> "{log}"
case "$*" in
  *--messaging-create-sms=*) [ -e "{fail}" ] && exit 1
    echo "Successfully created new SMS: {sms}/7" ;;
  *--messaging-list-sms*) echo "    {sms}/3 (received)"; echo "    {sms}/7 (sent)" ;;
  "-s 3 -K") echo "sms.content.number : +84912345678"; echo "sms.content.text   : Huy" ;;
  "-s 7 --send") echo "successfully sent the SMS" ;;
esac
"""


def fake_mmcli(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "mmcli.log"
    script = tmp_path / "bin" / "mmcli"
    script.parent.mkdir()
    sms = "/org/freedesktop/ModemManager1/SMS"
    script.write_text(FAKE_MMCLI.format(log=log, fail=tmp_path / "fail", sms=sms))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def calls(log: Path) -> list[list[str]]:
    return [c.strip("\n").split("\n") for c in log.read_text().split("--\n") if c.strip()]


def test_the_modem_creates_sends_and_deletes_the_sms(tmp_path, monkeypatch):
    script, log = fake_mmcli(tmp_path)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    text = "Bão số 5, đề nghị bà con 'chằng chống' nhà cửa"
    assert ModemSms(ModemSettings(), 5).deliver("+84912345678", text) == SENT
    assert calls(log) == [
        ["-m", "any", f"--messaging-create-sms=number='+84912345678',text=\"{text}\""],
        ["-s", "7", "--send"],
        ["-m", "any", "--messaging-delete-sms=7"],
    ]


def test_a_modem_that_refuses_is_retried_with_its_error(tmp_path, monkeypatch):
    script, _log = fake_mmcli(tmp_path)
    (tmp_path / "fail").touch()
    outcome = ModemSms(ModemSettings(mmcli=str(script)), 5).deliver("+84912345678", TEXT)
    assert outcome.retryable
    assert "the modem did not take the SMS" in outcome.reason


def test_no_mmcli_is_a_final_failure(tmp_path):
    outcome = ModemSms(ModemSettings(mmcli=str(tmp_path / "none")), 5).deliver("+8491", TEXT)
    assert not outcome.retryable
    assert "cannot run" in outcome.reason


def test_the_modem_reads_received_messages_and_deletes_them(tmp_path):
    script, log = fake_mmcli(tmp_path)
    (got,) = ModemSms(ModemSettings(mmcli=str(script)), 5).received()
    assert (got.number, got.text) == ("+84912345678", "Huy")
    assert ["-m", "any", "--messaging-delete-sms=3"] in calls(log)
    assert ["-s", "7", "-K"] not in calls(log)  # a sent message is not read as an answer


def test_a_text_with_both_quote_kinds_keeps_mmcli_s_quoting_whole():
    from controller.emergency.channels.modem import quoted

    assert quoted("bà con") == "'bà con'"
    assert quoted("nhà 'A'") == "\"nhà 'A'\""
    assert quoted("\"B\" và 'A'") == "'\"B\" và ’A’'"
