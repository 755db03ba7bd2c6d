#!/usr/bin/env python3
"""Integrated loudness (ITU-R BS.1770-4 / EBU R128) and true peak of WAV files, written
from the standard with numpy/scipy, independently of libebur128 (which sonify uses).

K-weighting: the standard's two biquads at 48 kHz (the file resampled to 48 kHz when it
is not); 400 ms blocks every 100 ms; absolute gate
-70 LUFS, relative gate -10 LU. True peak: 4x oversampled (scipy.signal.resample_poly)
maximum |value|.

Usage: loudness.py FILE.wav...   prints "FILE integrated_lufs true_peak_dbtp" per file.
"""
import sys

import numpy as np
from scipy.io import wavfile
from scipy.signal import lfilter, resample_poly


def read(path):
    rate, data = wavfile.read(path)
    if data.dtype == np.int16:
        data = data.astype(np.float64) / 32767.0
    else:
        data = data.astype(np.float64)
    if data.ndim == 1:
        data = data[:, None]
    return rate, data


# K-weighting as BS.1770-4 tabulates it, for 48 kHz: the pre-filter (high shelf, +4 dB
# above ~1.7 kHz) and the RLB high pass (~38 Hz). Other rates are resampled to 48 kHz
# first (band-limited, so the loudness is unchanged), rather than deriving coefficients
# the way libebur128 does.
PRE_B = [1.53512485958697, -2.69169618940638, 1.19839281085285]
PRE_A = [1.0, -1.69065929318241, 0.73248077421585]
RLB_B = [1.0, -2.0, 1.0]
RLB_A = [1.0, -1.99004745483398, 0.99007225036621]


def integrated_loudness(rate, x):
    if rate != 48000:
        g = np.gcd(48000, rate)
        x = resample_poly(x, 48000 // g, rate // g, axis=0)
        rate = 48000
    y = lfilter(RLB_B, RLB_A, lfilter(PRE_B, PRE_A, x, axis=0), axis=0)
    block, step = int(round(0.4 * rate)), int(round(0.1 * rate))
    if len(y) < block:
        return float("-inf")
    starts = range(0, len(y) - block + 1, step)
    z = np.array([np.mean(y[s:s + block] ** 2, axis=0).sum() for s in starts])
    with np.errstate(divide="ignore"):
        lj = -0.691 + 10 * np.log10(z)
    above = z[lj > -70]
    if len(above) == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(above.mean()) - 10
    gated = z[(lj > -70) & (lj > relative)]
    return -0.691 + 10 * np.log10(gated.mean())


def true_peak(x):
    peak = np.max(np.abs(resample_poly(x, 4, 1, axis=0)))
    return 20 * np.log10(peak) if peak > 0 else float("-inf")


def main():
    for path in sys.argv[1:]:
        rate, x = read(path)
        print(f"{path} {integrated_loudness(rate, x):.3f} {true_peak(x):.3f}")


if __name__ == "__main__":
    main()
