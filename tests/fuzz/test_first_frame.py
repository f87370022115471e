"""Fuzz target for the listener's first frame: whatever a peer sends first, the check the
listener makes (frame decoding, then ``admit_first_frame``) admits it only with the module's
own token, and otherwise refuses it with its typed reason, never another exception."""

from __future__ import annotations

import json

import hypothesis.strategies as st
from hypothesis import given

from pywatt import wire as w
from pywatt.channels import declaration_frame
from pywatt.orchestrator.hub._first_frame import FirstFrameRefused, admit_first_frame

from .conftest import FUZZ

TOKEN = "the-modules-own-token"
TOKENS = st.sampled_from([TOKEN, TOKEN + "x", "", "tökén", TOKEN.upper()]) | st.text(max_size=30)


def _frames(data: bytes) -> list[w.Frame]:
    decoder = w.FrameDecoder(max_frame_size=4096)
    decoder.feed(data)
    frames = []
    while not isinstance(frame := decoder.next_frame(), w.NeedData):
        frames.append(frame)
    return frames


def _check(data: bytes) -> None:
    try:
        frames = _frames(data)
    except w.RemoteProtocolError:
        return  # the listener logs a broken first frame and closes
    for frame in frames[:1]:
        try:
            declared = admit_first_frame(frame, TOKEN)
        except FirstFrameRefused:
            continue
        assert declared.auth_token == TOKEN  # admitted only with the module's own token


@st.composite
def mutated_declaration(draw: st.DrawFn) -> bytes:
    """A real declaration frame, its JSON changed and/or its bytes damaged."""
    token = draw(TOKENS | st.none())
    frame = declaration_frame(w.ModuleDeclaration(version="0.2.0", auth_token=token))
    header, payload = frame[:5], frame[5:]
    if draw(st.booleans()):
        body = json.loads(payload)
        where = draw(st.sampled_from(["properties", "pywatt", "op", "content", "token"]))
        value = draw(st.none() | st.integers() | st.text(max_size=10) | st.lists(st.integers()))
        if where == "properties":
            body["metadata"]["properties"] = value
        elif where == "pywatt":
            body["metadata"]["properties"]["pywatt"] = value
        elif where == "token":
            body["metadata"]["properties"].setdefault("pywatt", {})["auth_token"] = value
        else:
            body[where] = value
        payload = json.dumps(body).encode()
        header = header[:1] + len(payload).to_bytes(4, "big")
    data = header + payload
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=20)) + data[cut:]
    return data


@FUZZ
@given(data=mutated_declaration())
def test_a_mutated_declaration_is_admitted_only_with_the_token(data: bytes) -> None:
    _check(data)


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_bytes_first_are_refused_with_a_reason(data: bytes) -> None:
    _check(data)


def test_the_real_declaration_is_admitted_and_a_wrong_one_refused() -> None:
    good = _frames(declaration_frame(w.ModuleDeclaration(version="0.2.0", auth_token=TOKEN)))[0]
    assert admit_first_frame(good, TOKEN).auth_token == TOKEN
    bad = _frames(declaration_frame(w.ModuleDeclaration(version="0.2.0", auth_token="tøken")))[0]
    try:
        admit_first_frame(bad, TOKEN)
    except FirstFrameRefused as refused:
        assert refused.problem == "a wrong or missing auth token"
    else:
        raise AssertionError("a wrong token was admitted")
