using Streaming.Audio;

namespace Streaming.Training.Data;

/// <summary>Which augmentation the copies get: the telephone channel alone, or with the room, babble and low-bitrate codecs too.</summary>
internal enum AugmentationSet { Telephone, Extended }

/// <summary>
/// Telephone-channel augmentation of an 8 kHz signal, each step drawn from the given random source:
/// speed/pitch perturbation (resampling by 0.9-1.1), a 300-3400 Hz band limit (two cascaded Butterworth
/// sections each side), additive noise at 5-30 dB SNR (white or 1/f), a random level (peak -35 to -1 dBFS),
/// and a G.711 mu-law or A-law round trip. Each step but the level is applied to half the copies.
/// <see cref="AugmentationSet.Extended"/> adds, each on half the copies, room reverberation after the speed step and
/// babble of other speakers at 10-20 dB below the speech, and makes half the codec round trips GSM 06.10 or AMR-NB
/// (through <see cref="Sox"/>). Deterministic for a given seed; the telephone set draws exactly as it always did.
/// </summary>
internal static class TelephoneAugmenter
{
    private static readonly int[] SpeedRates = [7200, 7600, 8400, 8800]; // played back at 8000: 0.9, 0.95, 1.05, 1.1
    private const double MinPeakDb = 35; // copies peak between -35 and -1 dBFS

    /// <param name="babble">With the extended set: clean recordings of other speakers to mix in (none: no babble).</param>
    public static float[] Apply(ReadOnlySpan<float> clean, int sampleRate, Random rng,
        AugmentationSet set = AugmentationSet.Telephone, IReadOnlyList<float[]>? babble = null)
    {
        var x = clean.ToArray();
        if (rng.NextDouble() < 0.5)
        {
            // treating the samples as if taken at rate·s and resampling to the rate changes speed and pitch by s
            double s = SpeedRates[rng.Next(SpeedRates.Length)] / 8000.0;
            x = AudioLoader.Resample(x, (int)Math.Round(sampleRate * s), sampleRate);
        }
        if (set == AugmentationSet.Extended)
        {
            // the room first: a headset or speakerphone in an office, then other voices in the same room
            if (rng.NextDouble() < 0.5) x = Sox.Reverb(x, sampleRate, reverberance: 20 + rng.NextDouble() * 60, roomScale: 20 + rng.NextDouble() * 80);
            if (rng.NextDouble() < 0.5 && babble is { Count: > 0 }) AddBabble(x, babble, 10 + rng.NextDouble() * 10, rng);
        }
        if (rng.NextDouble() < 0.5)
        {
            Biquad.HighPass(300, sampleRate).Run(x);
            Biquad.HighPass(300, sampleRate).Run(x);
            Biquad.LowPass(3400, sampleRate).Run(x);
            Biquad.LowPass(3400, sampleRate).Run(x);
        }
        if (rng.NextDouble() < 0.5) AddNoise(x, 5 + rng.NextDouble() * 25, pink: rng.NextDouble() < 0.5, rng);
        // Level: the corpora differ by up to 25 dB in recording level (RAVDESS keeps its studio gain, so its
        // calm takes are quiet; EMO-DB is peak-normalised) and telephone gain is arbitrary, so each copy's
        // peak is set to a random level and loudness alone cannot identify an emotion.
        float peak = 0;
        foreach (var v in x) peak = MathF.Max(peak, MathF.Abs(v));
        if (peak > 0)
        {
            float gain = MathF.Pow(10f, (float)(-MinPeakDb + rng.NextDouble() * (MinPeakDb - 1)) / 20f) / peak;
            for (int i = 0; i < x.Length; i++) x[i] = Math.Clamp(x[i] * gain, -1f, 1f);
        }
        if (rng.NextDouble() < 0.5)
        {
            if (set == AugmentationSet.Extended && rng.NextDouble() < 0.5)
                return rng.NextDouble() < 0.5 ? Sox.GsmRoundTrip(x, sampleRate) : Sox.AmrRoundTrip(x, sampleRate, rng.Next(Sox.AmrModes));
            var codes = new byte[x.Length];
            if (rng.NextDouble() < 0.5) { G711.MuLawEncode(x, codes); G711.MuLawDecode(codes, x); }
            else { G711.ALawEncode(x, codes); G711.ALawDecode(codes, x); }
        }
        return x;
    }

    /// <summary>
    /// Babble: two or three of <paramref name="others"/>, each from a random offset and looped to the signal's length, summed
    /// and scaled to <paramref name="snrDb"/> below the signal's power.
    /// </summary>
    internal static void AddBabble(float[] x, IReadOnlyList<float[]> others, double snrDb, Random rng)
    {
        var mix = new float[x.Length];
        int voices = Math.Min(others.Count, 2 + rng.Next(2));
        foreach (var voice in others.OrderBy(_ => rng.Next()).Take(voices))
        {
            if (voice.Length == 0) continue;
            int offset = rng.Next(voice.Length);
            for (int i = 0; i < mix.Length; i++) mix[i] += voice[(offset + i) % voice.Length];
        }
        double power = Power(x), mixPower = Power(mix);
        if (power <= 0 || mixPower <= 0) return;
        float scale = (float)Math.Sqrt(power / Math.Pow(10, snrDb / 10) / mixPower);
        for (int i = 0; i < x.Length; i++) x[i] += scale * mix[i];
    }

    private static double Power(float[] x)
    {
        double sum = 0;
        foreach (var v in x) sum += v * v;
        return sum / Math.Max(1, x.Length);
    }

    /// <summary>Adds Gaussian noise scaled to <paramref name="snrDb"/> below the signal's power; pink via a one-pole 1/f approximation.</summary>
    private static void AddNoise(float[] x, double snrDb, bool pink, Random rng)
    {
        double power = 0;
        foreach (var v in x) power += v * v;
        power /= Math.Max(1, x.Length);
        if (power <= 0) return;
        var noise = new float[x.Length];
        double state = 0, noisePower = 0;
        for (int i = 0; i < noise.Length; i++)
        {
            // Box-Muller
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            state = pink ? 0.95 * state + g : g;
            noise[i] = (float)state;
            noisePower += state * state;
        }
        noisePower /= noise.Length;
        float scale = (float)Math.Sqrt(power / Math.Pow(10, snrDb / 10) / noisePower);
        for (int i = 0; i < x.Length; i++) x[i] += scale * noise[i];
    }

    /// <summary>RBJ cookbook second-order section, Q = 1/√2 (Butterworth).</summary>
    private sealed class Biquad(double b0, double b1, double b2, double a1, double a2)
    {
        public static Biquad LowPass(double f, int rate)
        {
            double w = 2 * Math.PI * f / rate, alpha = Math.Sin(w) / Math.Sqrt(2), c = Math.Cos(w), a0 = 1 + alpha;
            return new Biquad((1 - c) / 2 / a0, (1 - c) / a0, (1 - c) / 2 / a0, -2 * c / a0, (1 - alpha) / a0);
        }

        public static Biquad HighPass(double f, int rate)
        {
            double w = 2 * Math.PI * f / rate, alpha = Math.Sin(w) / Math.Sqrt(2), c = Math.Cos(w), a0 = 1 + alpha;
            return new Biquad((1 + c) / 2 / a0, -(1 + c) / a0, (1 + c) / 2 / a0, -2 * c / a0, (1 - alpha) / a0);
        }

        public void Run(float[] x)
        {
            double z1 = 0, z2 = 0; // transposed direct form II
            for (int i = 0; i < x.Length; i++)
            {
                double y = b0 * x[i] + z1;
                z1 = b1 * x[i] - a1 * y + z2;
                z2 = b2 * x[i] - a2 * y;
                x[i] = (float)y;
            }
        }
    }
}
