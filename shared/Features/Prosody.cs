using System.Numerics.Tensors;

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
        var x = samples.Slice(centre, segment);
        float xx = TensorPrimitives.SumOfSquares(x);
        for (int lag = minLag - 1; lag <= maxLag + 1; lag++)
        {
            var y = samples.Slice(centre + lag, segment);
            float yy = TensorPrimitives.SumOfSquares(y);
            correlation[lag] = xx * yy > 0 ? TensorPrimitives.Dot(x, y) / MathF.Sqrt(xx * yy) : 0;
        }
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
