"""Reading JSON Lines: recordings and traces share one reader, one error format, one torn-line rule."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import realtime_session
from realtime_session import codec
from realtime_session import events as ev
from realtime_session.__main__ import main
from realtime_session._jsonlines import JsonLinesError, read_json_lines
from realtime_session.providers import TraceFormatError, load_trace, read_trace
from realtime_session.recording import RecordingError, read_events

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
TRACES = Path(realtime_session.__file__).parent / "traces"
GOOD = codec.to_json(ev.TurnStarted())
TORN = '{"type": "turn_comp'


def readers() -> list[Callable[[Path], object]]:
    return [read_events, read_trace, load_trace]


@pytest.mark.parametrize("read", readers(), ids=lambda read: read.__name__)
def test_a_bad_line_is_reported_in_one_format_by_every_reader(
    tmp_path: Path, read: Callable[[Path], object]
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{GOOD}\n\n{{oops}}\n{GOOD}\n", encoding="utf-8")
    with pytest.raises(JsonLinesError) as caught:
        read(path)
    error = caught.value
    assert isinstance(error, RecordingError if read is read_events else TraceFormatError)
    assert isinstance(error, ValueError)
    assert (error.path, error.line) == (str(path), 3)
    assert "not valid JSON" in error.reason
    assert str(error) == f"{path}:3: line 3: {error.reason}"


@pytest.mark.parametrize("read", readers(), ids=lambda read: read.__name__)
def test_text_that_is_not_utf8_names_its_line(
    tmp_path: Path, read: Callable[[Path], object]
) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(f"{GOOD}\n".encode() + b"\xff\xfe\x00\n" + f"{GOOD}\n".encode())
    with pytest.raises(JsonLinesError) as caught:
        read(path)
    assert caught.value.line == 2
    assert caught.value.reason == "not UTF-8 text (invalid start byte)"


@pytest.mark.parametrize("read", readers(), ids=lambda read: read.__name__)
def test_lines_ending_in_crlf_read_as_lines(tmp_path: Path, read: Callable[[Path], object]) -> None:
    path = tmp_path / "windows.jsonl"
    path.write_bytes(f"{GOOD}\r\n\r\n{GOOD}\r\n".encode())
    assert len(read(path)) == 2  # type: ignore[arg-type]


def test_a_torn_last_line_is_skipped_by_recordings_and_reported_by_traces(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    path.write_text(f"{GOOD}\n{GOOD}\n{TORN}", encoding="utf-8")
    assert read_events(path) == [ev.TurnStarted(), ev.TurnStarted()]
    # A trace is input written on purpose: a cut-off line in it is an error.
    with pytest.raises(TraceFormatError) as caught:
        load_trace(path)
    assert caught.value.line == 3


@pytest.mark.parametrize("text", [TORN, "garbage"])
def test_a_lone_unterminated_bad_line_is_no_torn_recording(tmp_path: Path, text: str) -> None:
    path = tmp_path / "lone.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordingError) as caught:
        read_events(path)
    assert caught.value.line == 1


def test_an_unterminated_line_in_the_middle_cannot_be_torn() -> None:
    # Only the last line can lack its newline; a bad line with one is bad.
    source = io.BytesIO(f"{GOOD}\n{TORN}\n".encode())
    with pytest.raises(JsonLinesError) as caught:
        read_json_lines(source, lambda _, text: codec.from_json(text), skip_torn=True)
    assert caught.value.line == 2


def test_a_stream_is_named_as_given_and_the_torn_line_is_counted() -> None:
    lines = read_json_lines(
        io.BytesIO(f"{GOOD}\n\n{GOOD}\n{TORN}".encode()),
        lambda _, text: codec.from_json(text),
        name="<stdin>",
        skip_torn=True,
    )
    assert (lines.path, len(lines.items), lines.torn_line) == ("<stdin>", 2, 4)
    with pytest.raises(TraceFormatError) as caught:
        read_json_lines(
            io.BytesIO(b"[]\n"),
            lambda _, text: codec.from_json(text),
            error=TraceFormatError,
            name="<stdin>",
        )
    assert str(caught.value).startswith("<stdin>:1: line 1: ")


def test_the_command_line_forgives_a_torn_last_line_of_any_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (TRACES / "openai_voice_turn.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "torn.jsonl"
    path.write_text("\n".join([*lines, lines[-1][:30]]), encoding="utf-8")
    capsys.readouterr()
    assert main(["replay", str(path)]) == 0
    captured = capsys.readouterr()
    assert f"torn.jsonl, line {len(lines) + 1}: ignoring the unterminated last line" in captured.err
    assert "assistant: Octopuses have three hearts and blue blood." in captured.out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a POSIX feature")
def test_a_trace_in_a_named_pipe_is_read_once(tmp_path: Path) -> None:
    # A pipe (`replay <(zcat trace.gz)`) can be read once: a reader that opens the
    # trace again to check its format or its last line finds it empty, or waits forever.
    pipe = tmp_path / "trace.jsonl"
    os.mkfifo(pipe)
    data = (TRACES / "openai_voice_turn.jsonl").read_bytes()

    def write() -> None:
        with open(pipe, "wb") as file:
            file.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    result = subprocess.run(
        [sys.executable, "-m", "realtime_session", "replay", str(pipe), "--format", "openai"],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    writer.join(timeout=5)
    assert result.returncode == 0, result.stderr
    assert "assistant: Octopuses have three hearts and blue blood." in result.stdout
