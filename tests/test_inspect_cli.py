"""``inspect`` and ``replay --wav`` on the command line."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import TYPE_CHECKING

import realtime_session
from realtime_session import codec
from realtime_session import events as ev
from realtime_session.__main__ import main
from realtime_session.providers import load_trace

if TYPE_CHECKING:
    import pytest

TRACES = Path(realtime_session.__file__).parent / "traces"


def run(*args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def wav_frames(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        return wav.readframes(wav.getnframes())


def test_inspect_writes_the_page_named_after_the_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("inspect", str(TRACES / "openai_barge_in.jsonl"), monkeypatch=monkeypatch)
    assert code == 0, err
    page = tmp_path / "openai_barge_in.html"
    assert out.startswith("wrote openai_barge_in.html (")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    assert "<title>openai_barge_in.jsonl · realtime_session timeline</title>" in text


def test_inspect_reports_what_it_cannot_read_or_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run("inspect", str(tmp_path / "missing.jsonl"), monkeypatch=monkeypatch)
    assert (code, out) == (2, "")
    assert err.endswith("inspect: error: " + str(tmp_path / "missing.jsonl") + ": no such file\n")
    target = tmp_path / "no" / "such" / "dir.html"
    code, out, err = run(
        "inspect", str(TRACES / "openai_demo.jsonl"), "-o", str(target), monkeypatch=monkeypatch
    )
    assert (code, out) == (2, "")
    assert f"inspect: error: {target}: No such file or directory" in err


def test_replay_wav_holds_what_was_heard_of_a_barge_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = TRACES / "openai_barge_in.jsonl"
    heard = tmp_path / "heard.wav"
    code, out, err = run("replay", str(trace), "--wav", str(heard), monkeypatch=monkeypatch)
    assert code == 0, err
    assert "assistant: Once upon" in out.splitlines()
    # Expected from the trace alone: every chunk of the answer that was not
    # interrupted, and the first 800 ms (the provider's truncation) of the one that was.
    audio: dict[str, bytes] = {}
    for item in load_trace(trace):
        if isinstance(item.event, ev.OutputAudioChunk):
            item_id = item.event.item_id or ""
            audio[item_id] = audio.get(item_id, b"") + item.event.chunk.data
    interrupted = audio.pop("item_kW9LctXb03rEMU64yTY6B")
    (rest,) = audio.values()
    assert len(interrupted) == 1600 * 48
    assert wav_frames(heard) == interrupted[: 800 * 48] + rest


def test_replay_wav_cuts_at_the_barge_in_without_a_truncation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten 100 ms chunks arrive at once; the user talks over them at 350 ms, and the
    # provider never says how much was played (as Gemini Live): the listener heard 350 ms.
    lines = [
        {
            "t": 0.0,
            "event": codec.to_dict(
                ev.OutputAudioChunk(
                    chunk=ev.RealtimeAudioChunk(data=bytes([n]) * 4800),
                    response_id="r1",
                    item_id="a1",
                )
            ),
        }
        for n in range(10)
    ]
    lines.append({"t": 0.35, "event": codec.to_dict(ev.Interrupted(response_id="r1"))})
    trace = tmp_path / "trace.jsonl"
    trace.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    heard = tmp_path / "heard.wav"
    code, _, err = run("replay", str(trace), "--wav", str(heard), monkeypatch=monkeypatch)
    assert code == 0, err
    assert (
        wav_frames(heard)
        == bytes([0]) * 4800 + bytes([1]) * 4800 + bytes([2]) * 4800 + bytes([3]) * 2400
    )


def test_replay_wav_of_an_unwritable_path_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "missing" / "x.wav"
    code, out, err = run(
        "replay", str(TRACES / "openai_demo.jsonl"), "--wav", str(target), monkeypatch=monkeypatch
    )
    assert (code, out) == (2, "")
    assert f"replay: error: {target}: No such file or directory" in err


def test_inspect_reads_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    trace = (TRACES / "gemini_interruption.jsonl").read_text(encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(trace))
    code, out, err = run("inspect", "-", monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.startswith("wrote call.html (")
    assert "<title>&lt;stdin&gt; · realtime_session timeline</title>" in (
        tmp_path / "call.html"
    ).read_text(encoding="utf-8")
