"""The fast signer writes the tokens itsdangerous writes (short payloads always plain), and
itsdangerous reads every one, so every link stays valid."""

from __future__ import annotations

import json
import time
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeTimedSerializer

from mentorflow.engagement.links import PAUSE, make_link_token, read_link_token
from mentorflow.mail.tokens import ALWAYS_PLAIN, UNSUBSCRIBE, make_token, read_token, signer

KEY = "unit-test-key-äß"
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
PAYLOADS = st.dictionaries(st.sampled_from("mcpoasx"), st.one_of(TEXT, st.just("a" * 200)))


@settings(max_examples=200, deadline=None)
@given(payload=PAYLOADS, salt=st.sampled_from(["mentorflow.unsubscribe", "mentorflow.survey"]))
def test_tokens_equal_itsdangerous_dumps_in_the_same_second(payload, salt):
    # the same second for both (a payload of 200 "a" is compressed: the "." form); a short
    # payload itsdangerous compresses is written plain by ours
    now = int(time.time())
    ours = signer(salt, KEY)(payload)
    theirs = URLSafeTimedSerializer(KEY, salt=salt).dumps(payload)
    short_compressed = theirs.startswith(".") and not ours.startswith(".")
    if int(time.time()) == now and not short_compressed:
        assert ours == theirs
    if short_compressed:
        assert len(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()) < 128
    assert URLSafeTimedSerializer(KEY, salt=salt).loads(ours) == payload


def test_the_compressed_form_is_written_when_shorter():
    token = signer("mentorflow.unsubscribe", KEY)({"m": "m_" + "x" * 300})
    assert token.startswith(".")
    assert read_token(UNSUBSCRIBE, token, KEY) == "m_" + "x" * 300


@pytest.mark.parametrize("seconds", [0, 1, 255, 256, 1_800_000_000, 2**40])
def test_every_timestamp_width_is_read_back(monkeypatch, seconds):
    monkeypatch.setattr(time, "time", lambda: seconds + 0.7)
    ours = make_token(UNSUBSCRIBE, "m_zoe", KEY)
    theirs = URLSafeTimedSerializer(KEY, salt="mentorflow.unsubscribe").dumps({"m": "m_zoe"})
    assert ours == theirs


def test_unsubscribe_and_link_tokens_are_read_by_their_readers_only():
    unsubscribe = make_token(UNSUBSCRIBE, "m_zoe", KEY)
    pause = make_link_token(PAUSE, "m_zoe", KEY, c="2027-1")
    assert read_token(UNSUBSCRIBE, unsubscribe, KEY) == "m_zoe"
    assert read_link_token(PAUSE, pause, KEY) == {"m": "m_zoe", "c": "2027-1"}
    with pytest.raises(Exception, match="not valid"):
        read_token(UNSUBSCRIBE, pause, KEY)
    with pytest.raises(Exception, match="not valid"):
        read_token(UNSUBSCRIBE, unsubscribe, KEY + "x")


def test_a_short_compressible_payload_is_written_plain_and_itsdangerous_reads_it(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.0)
    payload = {"m": "m_" + "ab" * 30}  # 70 bytes of JSON, which itsdangerous compresses
    ours = signer("mentorflow.unsubscribe", KEY)(payload)
    theirs = URLSafeTimedSerializer(KEY, salt="mentorflow.unsubscribe").dumps(payload)
    assert theirs.startswith(".") and not ours.startswith(".")
    assert URLSafeTimedSerializer(KEY, salt="mentorflow.unsubscribe").loads(ours) == payload
    assert read_token(UNSUBSCRIBE, ours, KEY) == "m_" + "ab" * 30


def test_from_the_plain_limit_on_a_payload_is_compressed_when_shorter():
    payload = {"m": "m_" + "ab" * 70}
    data = json.dumps(payload, separators=(",", ":")).encode()
    assert len(data) >= ALWAYS_PLAIN and len(zlib.compress(data)) < len(data) - 1
    now = int(time.time())
    ours = signer("mentorflow.unsubscribe", KEY)(payload)
    theirs = URLSafeTimedSerializer(KEY, salt="mentorflow.unsubscribe").dumps(payload)
    assert ours.startswith(".")
    if int(time.time()) == now:
        assert ours == theirs
