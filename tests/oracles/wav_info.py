"""Oracle for sonify's WAV files, read with scipy.io.wavfile (independent of sonify's
writer): prints {"rate", "frames", "channels", "dtype", "peak" (fraction of full
scale), "rms", "full_scale_samples"} as JSON.

  wav_info.py FILE
"""
import json
import sys

import numpy as np
from scipy.io import wavfile

rate, data = wavfile.read(sys.argv[1])
if data.dtype == np.int16:
    full = 32767.0
elif data.dtype == np.int32:  # 24-bit files are returned left-justified in int32
    full = 2147483647.0
else:
    full = 1.0
x = data.astype(np.float64) / full
print(json.dumps({
    "rate": int(rate),
    "frames": int(data.shape[0]),
    "channels": int(data.shape[1]) if data.ndim > 1 else 1,
    "dtype": str(data.dtype),
    "peak": float(np.abs(x).max()) if x.size else 0.0,
    "rms": float(np.sqrt(np.mean(x ** 2))) if x.size else 0.0,
    "full_scale_samples": int(np.count_nonzero(np.abs(x) >= 1.0)),
}))
