using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Streaming.Features;

/// <summary>
/// Frame-level prosody on the featurizer's frame grid: for frame t (samples [hop·t, hop·t + window)) the pitch in
/// semitones re 100 Hz (0 where unvoiced), the voicing strength (peak normalised cross-correlation, 0-1) and the log
/// energy (ln of the mean square). Pitch is the lag of the highest normalised cross-correlation between a 20 ms segment
/// from the frame's centre and its copies 2.5-16.7 ms later (60-400 Hz), the shortest lag within 90 % of the highest
/// kept so a period's multiples do not halve the pitch, refined by a parabola through the peak.
/// </summary>
public static class Prosody
{
    /// <summary>Values per frame: pitch, voicing, log energy.</summary>
    public const int Values = 3;
    public const int Pitch = 0, Voicing = 1, LogEnergy = 2;

    private const double MinF0 = 60, MaxF0 = 400;
    private const float VoicedThreshold = 0.6f; // peak correlation of a voiced frame; noise and music-free silence stay below
    private const float SilentMeanSquare = 1e-8f; // -80 dBFS: no pitch in digital near-silence
    private const float LogFloor = -23f; // ln(1e-10)

    /// <summary>The prosody of every frame of a whole signal, row-major [frames, <see cref="Values"/>].</summary>
    public static float[] Frames(ReadOnlySpan<float> signal, FeatureConfig config, out int frames)
    {
        int hop = config.HopLength, span = Span(config);
        frames = signal.Length < config.WindowLength ? 0 : 1 + (signal.Length - config.WindowLength) / hop;
        var result = new float[frames * Values];
        var correlation = new float[CorrelationLength(config)];
        for (int t = 0; t < frames; t++)
            Frame(signal.Slice(t * hop, Math.Min(span, signal.Length - t * hop)), config, result.AsSpan(t * Values, Values), correlation);
        return result;
    }

    /// <summary>
    /// Samples from a frame's first one that its pitch can look at: the 20 ms segment from the frame's centre and its copy
    /// one longest period (plus one lag for the peak's parabola) later. A frame with fewer (the end of a stream) has no pitch.
    /// </summary>
    public static int Span(FeatureConfig config) => config.WindowLength / 2 + config.SampleRate / 50 + MaxLag(config) + 1;

    /// <summary>Length of the scratch array <see cref="Frame"/> needs.</summary>
    public static int CorrelationLength(FeatureConfig config) => MaxLag(config) + 2;

    /// <summary>
    /// One frame's values from <paramref name="samples"/>: the frame's samples onwards, at most <see cref="Span"/> of them and
    /// at least the window (fewer than <see cref="Span"/> only at the end of the signal).
    /// </summary>
    public static void Frame(ReadOnlySpan<float> samples, FeatureConfig config, Span<float> values, float[] correlation)
    {
        int window = config.WindowLength, rate = config.SampleRate;
        int centre = window / 2, segment = rate / 50, minLag = (int)(rate / MaxF0), maxLag = MaxLag(config);
        values.Slice(0, Values).Clear();
        float meanSquare = TensorPrimitives.SumOfSquares(samples.Slice(0, window)) / window;
        values[LogEnergy] = MathF.Max(LogFloor, MathF.Log(meanSquare + 1e-10f));
        if (meanSquare < SilentMeanSquare || centre + segment + maxLag + 1 > samples.Length) return;
        Correlate(samples, centre, segment, minLag - 1, maxLag + 1, correlation);
        float peak = 0;
        for (int lag = minLag; lag <= maxLag; lag++)
            if (IsPeak(correlation, lag) && correlation[lag] > peak) peak = correlation[lag];
        if (peak < VoicedThreshold) { values[Voicing] = MathF.Max(0, peak); return; }
        int best = -1;
        for (int lag = minLag; lag <= maxLag && best < 0; lag++)
            if (IsPeak(correlation, lag) && correlation[lag] >= 0.9f * peak) best = lag;
        float a = correlation[best - 1], b = correlation[best], c = correlation[best + 1];
        float denominator = a - 2 * b + c;
        float offset = denominator < 0 ? Math.Clamp(0.5f * (a - c) / denominator, -0.5f, 0.5f) : 0;
        double f0 = rate / (best + offset);
        values[Pitch] = (float)(12 * Math.Log2(f0 / 100));
        values[Voicing] = peak;
    }

    private static int MaxLag(FeatureConfig config) => (int)Math.Ceiling(config.SampleRate / MinF0);

    /// <summary>
    /// correlation[lag] for every lag in [first, last]: the normalised cross-correlation of the segment x at
    /// <paramref name="centre"/> with its copy y at centre + lag, Σxy / √(Σx² Σy²). Each vector lane is one lag, and
    /// four blocks of eight lags run side by side, so one pass over the segment computes Σxy and Σy² of 32 lags from the
    /// same loads: about a quarter of the time of a dot product and a sum of squares per lag. Each lane sums in order of
    /// the samples with fused multiply-adds, so the values do not depend on the machine.
    /// </summary>
    private static void Correlate(ReadOnlySpan<float> samples, int centre, int segment, int first, int last, float[] correlation)
    {
        ref float x = ref Unsafe.Add(ref MemoryMarshal.GetReference(samples), centre);
        var lanes = Vector256<float>.Zero;
        int whole = segment - segment % Lanes;
        for (int k = 0; k < whole; k += Lanes)
        {
            var v = Vector256.LoadUnsafe(ref x, (nuint)k);
            lanes = Vector256.FusedMultiplyAdd(v, v, lanes);
        }
        float xx = Vector256.Sum(lanes);
        for (int k = whole; k < segment; k++) xx = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, k), Unsafe.Add(ref x, k), xx);
        for (int start = first; start <= last; start += 4 * Lanes)
        {
            // blocks past the last lag start at its block instead: the same lanes computed again, stored again
            int s0 = Math.Min(start, last - Lanes + 1), s1 = Math.Min(start + Lanes, last - Lanes + 1),
                s2 = Math.Min(start + 2 * Lanes, last - Lanes + 1), s3 = Math.Min(start + 3 * Lanes, last - Lanes + 1);
            var (d0, d1, d2, d3) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
            var (e0, e1, e2, e3) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
            for (int k = 0; k < segment; k++)
            {
                var xk = Vector256.Create(Unsafe.Add(ref x, k));
                var y0 = Vector256.LoadUnsafe(ref x, (nuint)(k + s0));
                var y1 = Vector256.LoadUnsafe(ref x, (nuint)(k + s1));
                var y2 = Vector256.LoadUnsafe(ref x, (nuint)(k + s2));
                var y3 = Vector256.LoadUnsafe(ref x, (nuint)(k + s3));
                d0 = Vector256.FusedMultiplyAdd(xk, y0, d0); e0 = Vector256.FusedMultiplyAdd(y0, y0, e0);
                d1 = Vector256.FusedMultiplyAdd(xk, y1, d1); e1 = Vector256.FusedMultiplyAdd(y1, y1, e1);
                d2 = Vector256.FusedMultiplyAdd(xk, y2, d2); e2 = Vector256.FusedMultiplyAdd(y2, y2, e2);
                d3 = Vector256.FusedMultiplyAdd(xk, y3, d3); e3 = Vector256.FusedMultiplyAdd(y3, y3, e3);
            }
            Normalise(d0, e0, xx, correlation.AsSpan(s0, Lanes));
            Normalise(d1, e1, xx, correlation.AsSpan(s1, Lanes));
            Normalise(d2, e2, xx, correlation.AsSpan(s2, Lanes));
            Normalise(d3, e3, xx, correlation.AsSpan(s3, Lanes));
        }
    }

    private const int Lanes = 8;

    /// <summary>Σxy / √(Σx² Σy²) per lane, 0 where either energy is 0 (square root and division are exact-rounded, as scalar).</summary>
    private static void Normalise(Vector256<float> xy, Vector256<float> yy, float xx, Span<float> correlation)
    {
        var energy = Vector256.Create(xx) * yy;
        var normalised = Vector256.ConditionalSelect(Vector256.GreaterThan(energy, Vector256<float>.Zero), xy / Vector256.Sqrt(energy), Vector256<float>.Zero);
        normalised.CopyTo(correlation);
    }

    private static bool IsPeak(float[] c, int lag) => c[lag] >= c[lag - 1] && c[lag] >= c[lag + 1];
}

/// <summary>
/// <see cref="Prosody"/> for one audio stream as it arrives, frame for frame what <see cref="Prosody.Frames"/> gives for the
/// whole stream: frame t is computed once <see cref="Prosody.Span"/> samples from its start have arrived (it trails the
/// log-mel frame t by the pitch search's look-ahead, 3 frames at 8 kHz), and <see cref="Finish"/> computes the last frames
/// at the end of the stream, as the whole-signal computation does. Keeps less than one span of samples. Not thread-safe:
/// one per stream.
/// </summary>
public sealed class ProsodyTracker(FeatureConfig config)
{
    private readonly int _span = Prosody.Span(config);
    private readonly float[] _correlation = new float[Prosody.CorrelationLength(config)];
    private float[] _samples = new float[Prosody.Span(config) + 4 * config.HopLength];
    private int _count; // samples held, from the first sample of the next frame (or of the stream's unfinished frame)

    /// <summary>Most frames the next <see cref="Append"/> of <paramref name="newSamples"/> samples writes.</summary>
    public int MaxFrames(int newSamples) =>
        _count + newSamples < config.WindowLength ? 0 : (_count + newSamples - config.WindowLength) / config.HopLength + 1;

    /// <summary>Appends samples; writes the frames they complete to <paramref name="values"/> ([frames, Values]) and returns how many.</summary>
    public int Append(ReadOnlySpan<float> samples, Span<float> values)
    {
        if (_count + samples.Length > _samples.Length) Array.Resize(ref _samples, _count + samples.Length);
        samples.CopyTo(_samples.AsSpan(_count));
        _count += samples.Length;
        int frames = 0, start = 0;
        for (; start + _span <= _count; start += config.HopLength)
            Prosody.Frame(_samples.AsSpan(start, _span), config, values.Slice(frames++ * Prosody.Values, Prosody.Values), _correlation);
        Drop(start);
        return frames;
    }

    /// <summary>The stream ended: writes its remaining frames (those whose window it holds) and returns how many.</summary>
    public int Finish(Span<float> values)
    {
        int frames = 0, start = 0;
        for (; start + config.WindowLength <= _count; start += config.HopLength)
            Prosody.Frame(_samples.AsSpan(start, Math.Min(_span, _count - start)), config, values.Slice(frames++ * Prosody.Values, Prosody.Values), _correlation);
        Drop(start);
        return frames;
    }

    private void Drop(int samples)
    {
        if (samples == 0) return;
        _samples.AsSpan(samples, _count - samples).CopyTo(_samples);
        _count -= samples;
    }
}

/// <summary>
/// Functionals of a window's prosody frames (<see cref="Prosody.Frames"/>), the hand-made features the classic
/// baseline is built from: over the active frames (log energy within 40 dB of the window's loudest) the share voiced,
/// pitch mean, standard deviation, 10-90 % range and slope over the voiced frames, jitter- and shimmer-like mean absolute
/// changes of pitch and log energy between consecutive voiced frames, mean voicing strength, log energy standard deviation
/// and 10-90 % range, voiced onsets per second and the active share of the window. Zeros where there is nothing to measure.
/// </summary>
public static class ProsodyStatistics
{
    public const int Count = 12;

    private const float ActiveRange = 9.21f; // 40 dB in ln power
    private const float FramesPerSecond = 100f; // 10 ms hop

    [ThreadStatic] private static float[]? t_pitches, t_energies;

    public static void Of(ReadOnlySpan<float> prosody, int frames, Span<float> statistics)
    {
        statistics.Slice(0, Count).Clear();
        if (frames == 0) return;
        float loudest = float.MinValue;
        for (int t = 0; t < frames; t++) loudest = MathF.Max(loudest, prosody[t * Prosody.Values + Prosody.LogEnergy]);
        // per-thread scratch: the classifier computes these for every window it classifies
        if (t_pitches is null || t_pitches.Length < frames) (t_pitches, t_energies) = (new float[frames], new float[frames]);
        var pitches = new Scratch(t_pitches);
        var energies = new Scratch(t_energies!);
        double voicing = 0, slopeT = 0, slopeTT = 0, slopeP = 0, slopeTP = 0, jitter = 0, shimmer = 0;
        int active = 0, pairs = 0, onsets = 0;
        bool previousVoiced = false;
        float previousPitch = 0, previousEnergy = 0;
        for (int t = 0; t < frames; t++)
        {
            float pitch = prosody[t * Prosody.Values + Prosody.Pitch], energy = prosody[t * Prosody.Values + Prosody.LogEnergy];
            bool voiced = prosody[t * Prosody.Values + Prosody.Voicing] > 0 && pitch != 0;
            if (energy < loudest - ActiveRange) { previousVoiced = false; continue; }
            active++;
            energies.Add(energy);
            voicing += prosody[t * Prosody.Values + Prosody.Voicing];
            if (voiced)
            {
                pitches.Add(pitch);
                double time = t / FramesPerSecond;
                slopeT += time; slopeTT += time * time; slopeP += pitch; slopeTP += time * pitch;
                if (previousVoiced) { jitter += Math.Abs(pitch - previousPitch); shimmer += Math.Abs(energy - previousEnergy); pairs++; }
                else onsets++;
            }
            previousVoiced = voiced;
            previousPitch = pitch;
            previousEnergy = energy;
        }
        if (active == 0) return;
        statistics[0] = pitches.Count / (float)active;
        if (pitches.Count > 0)
        {
            float mean = pitches.Mean();
            statistics[1] = mean;
            statistics[2] = pitches.Deviation(mean);
            statistics[3] = pitches.Range();
            int n = pitches.Count;
            double variance = slopeTT - slopeT * slopeT / n;
            statistics[4] = variance > 1e-9 ? (float)((slopeTP - slopeT * slopeP / n) / variance) : 0;
        }
        if (pairs > 0) { statistics[5] = (float)(jitter / pairs); statistics[9] = (float)(shimmer / pairs); }
        statistics[6] = (float)(voicing / active);
        statistics[7] = energies.Deviation(energies.Mean());
        statistics[8] = energies.Range();
        statistics[10] = onsets / (active / FramesPerSecond);
        statistics[11] = active / (float)frames;
    }

    /// <summary>Values gathered into a scratch array; sums in double, as LINQ's Average of floats does.</summary>
    private ref struct Scratch(float[] values)
    {
        private readonly Span<float> _values = values;

        public int Count { get; private set; }

        public void Add(float value) => _values[Count++] = value;

        public readonly float Mean()
        {
            double sum = 0;
            foreach (var v in _values[..Count]) sum += v;
            return (float)(sum / Count);
        }

        public readonly float Deviation(float mean)
        {
            double sum = 0;
            foreach (var v in _values[..Count]) sum += (v - mean) * (v - mean);
            return MathF.Sqrt((float)(sum / Count));
        }

        /// <summary>10th to 90th percentile (nearest rank).</summary>
        public readonly float Range()
        {
            var values = _values[..Count];
            values.Sort();
            return values[(int)(0.9 * (Count - 1))] - values[(int)(0.1 * (Count - 1))];
        }
    }
}
