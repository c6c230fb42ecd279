"""The playback clock between an audio thread and the session, the WAV player and microphone."""

from __future__ import annotations

import threading
import wave
from typing import TYPE_CHECKING

import anyio
import numpy as np
import pytest
from helpers import RecordingCommands, audio, provider_stream, spoken, wait_until

from realtime_session import RealtimeSession
from realtime_session import audio as audio_module
from realtime_session import events as ev
from realtime_session.playback import PlaybackClock, WavFileMicrophone, WavFilePlayer

if TYPE_CHECKING:
    from pathlib import Path


def write_wav(path: Path, data: bytes, rate: int, channels: int = 1) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data)


def read_wav(path: Path) -> tuple[bytes, int]:
    with wave.open(str(path), "rb") as wav:
        return wav.readframes(wav.getnframes()), wav.getframerate()


# -- the clock ----------------------------------------------------------------------------------


async def test_positions_reported_from_other_threads_reach_the_session_truncation() -> None:
    send, receive = provider_stream()
    commands = RecordingCommands()
    clock = PlaybackClock()
    async with RealtimeSession(receive, commands=commands) as session:
        async with clock.reporting(session, interval_s=0.005):
            for n in range(50):  # one second of audio for item a1
                await send.send(audio("r1", "a1", tag=n))
            # Eight audio threads each report 40 ms, in 1 ms steps, all at once.
            threads = [
                threading.Thread(target=lambda: [clock.advance("a1", 1.0) for _ in range(40)])
                for _ in range(8)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                await anyio.to_thread.run_sync(thread.join)
            assert clock.position("a1") == 320.0
            await anyio.sleep(0.02)  # a reporting interval or more
            await send.send(ev.Interrupted(response_id="r1"))
            await wait_until(lambda: bool(commands.named("truncate_assistant_output")))
        await send.aclose()
    # The session cut the interrupted item where the audio threads said it was.
    assert commands.named("truncate_assistant_output") == [("a1", 0, 320)]


async def test_drain_reports_only_what_moved() -> None:
    reported: list[tuple[str, float]] = []

    class Session:
        def report_playback(self, item_id: str, played_ms: float) -> None:
            reported.append((item_id, played_ms))

    clock = PlaybackClock()
    clock.advance("a", 20.0)
    clock.advance("a", 20.0)
    clock.set_position("b", 100.0)
    clock.set_position("b", 50.0)  # positions never go back
    assert clock.drain(Session()) == 2  # type: ignore[arg-type]
    assert reported == [("a", 40.0), ("b", 100.0)]
    assert clock.drain(Session()) == 0  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite and >= 0"):
        clock.advance("a", -1.0)


# -- the WAV player -----------------------------------------------------------------------------


async def test_player_plays_in_real_time_reports_and_drops_what_a_barge_in_cut(
    tmp_path: Path,
) -> None:
    send, receive = provider_stream()
    commands = RecordingCommands()
    clock = PlaybackClock()
    out = tmp_path / "heard.wav"
    player = WavFilePlayer(out, clock=clock, speed=4.0)
    session = RealtimeSession(receive, commands=commands)
    subscription = session.events()
    async with session, clock.reporting(session), anyio.create_task_group() as task_group:
        task_group.start_soon(player.play, subscription)
        await send.send(spoken("r1", "a1", "Hello there.", 0))
        for _ in range(10):  # 200 ms
            await send.send(audio("r1", "a1", tag=1))
        await send.send(ev.TurnCompleted(response_id="r1"))
        await wait_until(lambda: clock.position("a1") == 200.0)
        await send.send(spoken("r2", "a2", "A long story that goes on and on.", 0, "a1"))
        for _ in range(100):  # 2 s, queued far faster than it plays
            await send.send(audio("r2", "a2", tag=2))
        await wait_until(lambda: clock.position("a2") >= 100.0)
        await send.send(ev.Interrupted(response_id="r2"))
        await send.aclose()
    data, rate = read_wav(out)
    assert rate == 24000
    heard_a2 = clock.position("a2")
    assert 100.0 <= heard_a2 < 2000.0
    # The file holds what was played: all of a1, then a2 up to the barge-in.
    assert data == bytes([1]) * (200 * 48) + bytes([2]) * round(heard_a2 * 48)
    assert player.played_ms == pytest.approx(200.0 + heard_a2)
    assert player.flushed_ms + heard_a2 == pytest.approx(2000.0)
    ((item, index, position),) = commands.named("truncate_assistant_output")
    assert (item, index) == ("a2", 0)
    assert isinstance(position, int)
    assert 0 < position <= heard_a2  # as far as the clock had reported when the user cut in


async def test_player_resamples_other_rates(tmp_path: Path) -> None:
    send, receive = provider_stream()
    out = tmp_path / "48k.wav"
    player = WavFilePlayer(out, clock=PlaybackClock(), sample_rate_hz=48000, speed=20.0)
    tone = audio_module.float_to_pcm16(0.5 * np.sin(2 * np.pi * 440 * np.arange(24000) / 24000))
    session = RealtimeSession(receive)
    subscription = session.events()
    async with session, anyio.create_task_group() as task_group:
        task_group.start_soon(player.play, subscription)
        for piece in audio_module.chunk_pcm16(tone, sample_rate_hz=24000, chunk_ms=20):
            chunk = ev.RealtimeAudioChunk(data=piece)
            await send.send(ev.OutputAudioChunk(chunk=chunk, response_id="r", item_id="a"))
        await send.aclose()
    data, rate = read_wav(out)
    assert rate == 48000
    assert len(data) / 2 / 48000 == pytest.approx(1.0, abs=0.02)


# -- the WAV microphone -------------------------------------------------------------------------


async def test_microphone_speaks_the_file_in_paced_chunks_at_the_session_rate(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mic.wav"
    tone = audio_module.float_to_pcm16(0.5 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000))
    write_wav(path, tone, 16000)
    mic = WavFileMicrophone(path, sample_rate_hz=24000, speed=10.0, trailing_silence_ms=200)
    assert mic.duration_ms == pytest.approx(1200.0, abs=1)
    started = anyio.current_time()
    chunks = [chunk async for chunk in mic]
    elapsed = anyio.current_time() - started
    assert [c.sample_rate_hz for c in chunks] == [24000] * 60
    assert {len(c.data) for c in chunks} == {960}
    # Paced: 60 chunks of 20 ms at ten times real time take at least 59 periods.
    assert elapsed >= 59 * 0.002
    speech = b"".join(c.data for c in chunks)
    assert speech[-200 * 48 :] == bytes(200 * 48)


async def test_microphone_sends_to_the_session(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    frames = np.zeros((800, 2), dtype="<i2")
    frames[:, 0] = 1000
    frames[:, 1] = 3000
    write_wav(path, frames.tobytes(), 8000, channels=2)
    send, receive = provider_stream()
    commands = RecordingCommands()
    mic = WavFileMicrophone(path, speed=50.0)
    with send:
        async with RealtimeSession(receive, commands=commands) as session:
            assert await mic.send_to(session) == 5
    chunks = [args[0] for args in commands.named("send_input")]
    assert all(isinstance(c, ev.AudioInput) for c in chunks)
    pcm = b"".join(c.chunk.data for c in chunks if isinstance(c, ev.AudioInput))
    assert set(np.frombuffer(pcm, "<i2").tolist()) == {2000}  # mixed down to mono


def test_microphone_refuses_what_is_not_pcm16(tmp_path: Path) -> None:
    path = tmp_path / "8bit.wav"
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes(80))
    with pytest.raises(ValueError, match="not 16-bit PCM"):
        WavFileMicrophone(path)
