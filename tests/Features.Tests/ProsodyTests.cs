using Streaming.Features;

namespace Streaming.Tests.Features;

public sealed class ProsodyTests
{
    private static readonly FeatureConfig Config = FeatureConfig.Telephone8k;

    /// <summary>A harmonic buzz whose pitch glides linearly from <paramref name="f0Start"/> to <paramref name="f0End"/> Hz.</summary>
    private static float[] Buzz(double seconds, double f0Start, double f0End, float amplitude = 0.1f)
    {
        var x = new float[(int)(seconds * 8000)];
        double phase = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double f0 = f0Start + (f0End - f0Start) * i / x.Length;
            phase += 2 * Math.PI * f0 / 8000;
            double v = 0;
            for (int h = 1; h <= 12 && h * f0 < 3800; h++) v += Math.Sin(h * phase) / h;
            x[i] = (float)(amplitude * v);
        }
        return x;
    }

    private static double Semitones(double f0) => 12 * Math.Log2(f0 / 100);

    [Theory]
    [InlineData(75)]
    [InlineData(120)]
    [InlineData(220)]
    [InlineData(350)]
    public void Frames_SteadyBuzz_PitchWithinAQuarterSemitone(double f0)
    {
        var frames = Prosody.Frames(Buzz(1, f0, f0), Config, out int n);

        Assert.Equal(98, n); // (8000 − 200) / 80 + 1
        for (int t = 5; t < n - 30; t++) // the last frames' lagged segments run past the end
        {
            Assert.InRange(frames[t * Prosody.Values + Prosody.Pitch], Semitones(f0) - 0.25, Semitones(f0) + 0.25);
            Assert.True(frames[t * Prosody.Values + Prosody.Voicing] > 0.9f);
        }
    }

    [Fact]
    public void Frames_WhiteNoise_MostlyUnvoiced()
    {
        var rng = new Random(1);
        var noise = Enumerable.Range(0, 8000).Select(_ => (float)(0.1 * (rng.NextDouble() - 0.5))).ToArray();

        var frames = Prosody.Frames(noise, Config, out int n);

        int voiced = Enumerable.Range(0, n).Count(t => frames[t * Prosody.Values + Prosody.Pitch] != 0);
        Assert.True(voiced < n / 10, $"{voiced} of {n} noise frames voiced");
    }

    [Fact]
    public void Frames_DigitalSilence_UnvoicedAtTheLogFloor()
    {
        var frames = Prosody.Frames(new float[4000], Config, out int n);

        for (int t = 0; t < n; t++)
        {
            Assert.Equal(0f, frames[t * Prosody.Values + Prosody.Pitch]);
            Assert.Equal(-23f, frames[t * Prosody.Values + Prosody.LogEnergy]);
        }
    }

    [Fact]
    public void Statistics_RisingBuzzThenSilence_SlopeRangeAndShares()
    {
        // 1 s gliding 100 → 200 Hz (12 semitones per second), then 1 s of silence
        var signal = new float[16000];
        Buzz(1, 100, 200).CopyTo(signal, 0);
        var frames = Prosody.Frames(signal, Config, out int n);
        var s = new float[ProsodyStatistics.Count];

        ProsodyStatistics.Of(frames, n, s);

        Assert.InRange(s[0], 0.85f, 1f); // voiced share of the active frames
        Assert.InRange(s[1], 4f, 8f); // mean pitch, semitones re 100 Hz: the glide's middle is 6.
        Assert.InRange(s[4], 10f, 14f); // slope, semitones per second
        Assert.InRange(s[3], 8f, 11f); // 10-90 % range of a 12-semitone glide
        Assert.InRange(s[5], 0f, 0.5f); // jitter-like: a smooth glide barely moves frame to frame
        Assert.InRange(s[11], 0.4f, 0.6f); // half the window is silent
    }

    [Fact]
    public void Statistics_NoFrames_AllZero()
    {
        var s = Enumerable.Repeat(7f, ProsodyStatistics.Count).ToArray();

        ProsodyStatistics.Of([], 0, s);

        Assert.All(s, v => Assert.Equal(0f, v));
    }
    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(160)]
    [InlineData(1000)]
    [InlineData(40000)]
    public void Tracker_ChunkedStream_SameFramesAsTheWholeSignal(int chunk)
    {
        // voiced glides, a pause and noise: frames of every kind, and a length that leaves a partial hop at the end
        var rng = new Random(chunk);
        var signal = Buzz(1.2, 90, 260).Concat(new float[3000]).Concat(Buzz(1.1, 300, 120, 0.3f))
            .Select(v => v + (float)(0.002 * (rng.NextDouble() - 0.5))).Concat(new float[123]).ToArray();
        var expected = Prosody.Frames(signal, Config, out int n);

        var tracker = new ProsodyTracker(Config);
        var actual = new List<float>();
        var buffer = new float[(signal.Length / Config.HopLength + 2) * Prosody.Values];
        for (int i = 0; i < signal.Length; i += chunk)
        {
            var samples = signal.AsSpan(i, Math.Min(chunk, signal.Length - i));
            Assert.True(tracker.MaxFrames(samples.Length) * Prosody.Values <= buffer.Length);
            int frames = tracker.Append(samples, buffer);
            actual.AddRange(buffer.AsSpan(0, frames * Prosody.Values).ToArray());
        }
        int pending = expected.Length - actual.Count;
        int last = tracker.Finish(buffer);
        actual.AddRange(buffer.AsSpan(0, last * Prosody.Values).ToArray());

        Assert.Equal(expected, actual.ToArray()); // bit for bit: the same computation on the same samples
        Assert.InRange(pending / Prosody.Values, 1, (Prosody.Span(Config) - Config.WindowLength) / Config.HopLength + 1); // the look-ahead held back
        Assert.Contains(expected.Where((_, i) => i % Prosody.Values == Prosody.Pitch), p => p != 0);
    }

    [Fact]
    public void Frames_VoicingIsThePeakCorrelationOfAPlainComputation()
    {
        // the vectorised correlation against the definition, in double: Σxy / √(Σx² Σy²) of the 20 ms segment at the frame's
        // centre and its copy 19-135 samples later, the highest local peak within 60-400 Hz
        var rng = new Random(5);
        var signal = Buzz(0.6, 110, 240).Select(v => v + (float)(0.05 * (rng.NextDouble() - 0.5))).ToArray();
        var frames = Prosody.Frames(signal, Config, out int n);

        int checkedFrames = 0;
        for (int t = 0; 100 + t * 80 + 160 + 135 <= signal.Length; t++, checkedFrames++)
        {
            int centre = t * 80 + 100;
            var c = new double[137];
            for (int lag = 19; lag <= 135; lag++)
            {
                double xy = 0, xx = 0, yy = 0;
                for (int k = 0; k < 160; k++)
                {
                    xy += signal[centre + k] * (double)signal[centre + lag + k];
                    xx += signal[centre + k] * (double)signal[centre + k];
                    yy += signal[centre + lag + k] * (double)signal[centre + lag + k];
                }
                c[lag] = xy / Math.Sqrt(xx * yy);
            }
            double peak = Enumerable.Range(20, 115).Where(l => c[l] >= c[l - 1] && c[l] >= c[l + 1]).Max(l => c[l]);
            Assert.Equal(peak, frames[t * Prosody.Values + Prosody.Voicing], 4);
        }
        Assert.True(checkedFrames > 30);
    }

    [Fact]
    public void Tracker_StreamShorterThanAWindow_NoFrames()
    {
        var tracker = new ProsodyTracker(Config);
        var buffer = new float[16];

        Assert.Equal(0, tracker.MaxFrames(150));
        Assert.Equal(0, tracker.Append(Buzz(0.018, 120, 120), buffer));
        Assert.Equal(0, tracker.Finish(buffer));
    }
}
