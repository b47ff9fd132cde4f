#!/usr/bin/python3
"""Float64 reference for the feature tests (dev tool; CI only reads the fixtures it writes).

Independent of the C# code: numpy only, librosa's formulas written out (Slaney mel scale and area
normalisation as in librosa.filters.mel(htk=False, norm='slaney')), torch.stft's placement of a
short window (centred inside the n_fft frame, zero-padded), streaming framing without centre
padding (frame t covers samples [hop*t, hop*t + win)), power |X|^2 of the unnormalised FFT,
ln(mel + floor), MFCC = orthonormal DCT-II (scipy.fft.dct(norm='ortho')) with no lifter.

Run from anywhere with Debian's numpy:  /usr/bin/python3 generate_reference.py
Writes, per case, <case>.input.f32 (float32 samples), <case>.logmel.f64 and <case>.mfcc.f64
(row-major [frames, bands|coefficients], little-endian).
"""
import os
import numpy as np

CASES = {
    # name: (sample_rate, n_fft, win, hop, n_mels, fmin, fmax, floor, n_mfcc, seconds)
    "reference16k": (16000, 512, 400, 160, 64, 20.0, 7600.0, 1e-6, 40, 0.25),
    "telephone8k": (8000, 256, 200, 80, 64, 20.0, 4000.0, 1e-6, 40, 0.5),
}


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    freqs = f_sp * m
    min_log_hz, min_log_mel, logstep = 1000.0, 1000.0 / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), freqs)


def mel_filters(sr, n_fft, n_mels, fmin, fmax):
    fftfreqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, len(fftfreqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights


def dct_ortho_matrix(n_in, n_out):
    n = np.arange(n_in)
    k = np.arange(n_out)[:, None]
    d = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    d[0] /= np.sqrt(2.0)
    return d


def test_signal(sr, seconds, rng):
    """Chirp + two tones + broadband noise, so every mel band carries energy well above the floor."""
    t = np.arange(int(sr * seconds)) / sr
    f0, f1 = 60.0, 0.45 * sr
    chirp = 0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds)))
    tones = 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * (0.3 * sr) * t + 0.5)
    noise = 0.02 * rng.standard_normal(t.size)
    return (chirp + tones + noise).astype(np.float32)


def features(x32, sr, n_fft, win, hop, n_mels, fmin, fmax, floor, n_mfcc):
    x = x32.astype(np.float64)
    n = np.arange(win)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / win)  # periodic Hann
    left = (n_fft - win) // 2                          # torch.stft: short window centred in the frame
    frames = (len(x) - win) // hop + 1
    fb = mel_filters(sr, n_fft, n_mels, fmin, fmax)
    logmel = np.empty((frames, n_mels))
    for t in range(frames):
        buf = np.zeros(n_fft)
        buf[left:left + win] = x[hop * t:hop * t + win] * window
        power = np.abs(np.fft.rfft(buf)) ** 2
        logmel[t] = np.log(fb @ power + floor)
    mfcc = logmel @ dct_ortho_matrix(n_mels, n_mfcc).T
    return logmel, mfcc


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(20261123)
    for name, (sr, n_fft, win, hop, n_mels, fmin, fmax, floor, n_mfcc, seconds) in CASES.items():
        x = test_signal(sr, seconds, rng)
        logmel, mfcc = features(x, sr, n_fft, win, hop, n_mels, fmin, fmax, floor, n_mfcc)
        x.astype("<f4").tofile(os.path.join(here, f"{name}.input.f32"))
        logmel.astype("<f8").tofile(os.path.join(here, f"{name}.logmel.f64"))
        mfcc.astype("<f8").tofile(os.path.join(here, f"{name}.mfcc.f64"))
        print(f"{name}: {len(x)} samples, {logmel.shape[0]} frames, log-mel {logmel.min():.2f}..{logmel.max():.2f}")


if __name__ == "__main__":
    main()
