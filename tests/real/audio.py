"""What a phone heard: 16-bit PCM WAV files read as loudness over time.

baresip's `sndfile` module writes the WAV while the call runs and fixes the header only
when the call ends, so the samples are read from the `data` chunk to the end of the
file, whatever the header says."""

from __future__ import annotations

import array
import math
import struct
from dataclasses import dataclass
from pathlib import Path

WINDOW_S = 0.05
SPEECH_RMS = 300.0  # espeak-ng speech at 8 kHz is in the thousands; line silence is ~0


@dataclass(frozen=True)
class Pcm:
    rate: int
    samples: array.array[int]

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def read_pcm16(path: Path) -> Pcm:
    raw = path.read_bytes()
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file")
    fmt = raw.find(b"fmt ")
    channels, rate = struct.unpack_from("<HI", raw, fmt + 10)
    bits = struct.unpack_from("<H", raw, fmt + 22)[0]
    if bits != 16:
        raise ValueError(f"{path}: {bits}-bit samples, expected 16")
    start = raw.find(b"data", fmt) + 8
    body = raw[start:len(raw) - (len(raw) - start) % (2 * channels)]
    samples = array.array("h")
    samples.frombytes(body)
    return Pcm(rate, samples[::channels])


def loudness(pcm: Pcm, window_s: float = WINDOW_S) -> list[float]:
    """RMS of each window."""
    size = max(1, int(pcm.rate * window_s))
    out = []
    for i in range(0, len(pcm.samples) - size + 1, size):
        chunk = pcm.samples[i:i + size]
        out.append(math.sqrt(sum(s * s for s in chunk) / size))
    return out


def speech_spans(pcm: Pcm, threshold: float = SPEECH_RMS, window_s: float = WINDOW_S,
                 gap_s: float = 0.3) -> list[tuple[float, float]]:
    """(start, end) seconds of the loud parts; pauses shorter than ``gap_s`` are bridged."""
    spans: list[tuple[float, float]] = []
    for i, rms in enumerate(loudness(pcm, window_s)):
        if rms < threshold:
            continue
        t0, t1 = i * window_s, (i + 1) * window_s
        if spans and t0 - spans[-1][1] <= gap_s:
            spans[-1] = (spans[-1][0], t1)
        else:
            spans.append((t0, t1))
    return spans
