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

    public static float[] Frames(ReadOnlySpan<float> signal, FeatureConfig config, out int frames)
    {
        int hop = config.HopLength, window = config.WindowLength, rate = config.SampleRate;
        frames = signal.Length < window ? 0 : 1 + (signal.Length - window) / hop;
        int segment = rate / 50, minLag = (int)(rate / MaxF0), maxLag = (int)Math.Ceiling(rate / MinF0);
        var result = new float[frames * Values];
        var correlation = new float[maxLag + 2];
        for (int t = 0; t < frames; t++)
        {
            int centre = t * hop + window / 2;
            var own = signal.Slice(t * hop, window);
            float meanSquare = TensorPrimitives.SumOfSquares(own) / window;
            result[t * Values + LogEnergy] = MathF.Max(LogFloor, MathF.Log(meanSquare + 1e-10f));
            if (meanSquare < SilentMeanSquare || centre + segment + maxLag + 1 > signal.Length) continue;
            var x = signal.Slice(centre, segment);
            float xx = TensorPrimitives.SumOfSquares(x);
            int best = -1;
            for (int lag = minLag - 1; lag <= maxLag + 1; lag++)
            {
                var y = signal.Slice(centre + lag, segment);
                float yy = TensorPrimitives.SumOfSquares(y);
                correlation[lag] = xx * yy > 0 ? TensorPrimitives.Dot(x, y) / MathF.Sqrt(xx * yy) : 0;
            }
            float peak = 0;
            for (int lag = minLag; lag <= maxLag; lag++)
                if (IsPeak(correlation, lag) && correlation[lag] > peak) peak = correlation[lag];
            if (peak < VoicedThreshold) { result[t * Values + Voicing] = MathF.Max(0, peak); continue; }
            for (int lag = minLag; lag <= maxLag && best < 0; lag++)
                if (IsPeak(correlation, lag) && correlation[lag] >= 0.9f * peak) best = lag;
            float a = correlation[best - 1], b = correlation[best], c = correlation[best + 1];
            float denominator = a - 2 * b + c;
            float offset = denominator < 0 ? Math.Clamp(0.5f * (a - c) / denominator, -0.5f, 0.5f) : 0;
            double f0 = rate / (best + offset);
            result[t * Values + Pitch] = (float)(12 * Math.Log2(f0 / 100));
            result[t * Values + Voicing] = peak;
        }
        return result;
    }

    private static bool IsPeak(float[] c, int lag) => c[lag] >= c[lag - 1] && c[lag] >= c[lag + 1];
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

    public static void Of(ReadOnlySpan<float> prosody, int frames, Span<float> statistics)
    {
        statistics.Slice(0, Count).Clear();
        if (frames == 0) return;
        float loudest = float.MinValue;
        for (int t = 0; t < frames; t++) loudest = MathF.Max(loudest, prosody[t * Prosody.Values + Prosody.LogEnergy]);
        var pitches = new List<float>(frames);
        var energies = new List<float>(frames);
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
            float mean = pitches.Average();
            statistics[1] = mean;
            statistics[2] = MathF.Sqrt(pitches.Average(p => (p - mean) * (p - mean)));
            statistics[3] = Range(pitches);
            int n = pitches.Count;
            double variance = slopeTT - slopeT * slopeT / n;
            statistics[4] = variance > 1e-9 ? (float)((slopeTP - slopeT * slopeP / n) / variance) : 0;
        }
        if (pairs > 0) { statistics[5] = (float)(jitter / pairs); statistics[9] = (float)(shimmer / pairs); }
        statistics[6] = (float)(voicing / active);
        float energyMean = energies.Average();
        statistics[7] = MathF.Sqrt(energies.Average(e => (e - energyMean) * (e - energyMean)));
        statistics[8] = Range(energies);
        statistics[10] = onsets / (active / FramesPerSecond);
        statistics[11] = active / (float)frames;
    }

    /// <summary>10th to 90th percentile (nearest rank).</summary>
    private static float Range(List<float> values)
    {
        values.Sort();
        return values[(int)(0.9 * (values.Count - 1))] - values[(int)(0.1 * (values.Count - 1))];
    }
}
