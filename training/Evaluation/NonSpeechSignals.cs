using Streaming.Training.Data;

namespace Streaming.Training.Evaluation;

/// <summary>
/// Generated 8 kHz signals a call carries that are not a person speaking, for measuring how often the
/// speech gate lets them through to an emotion label. Each kind varies its parameters per seed; half the
/// clips then pass the telephone channel augmentation (band limit, noise, level, G.711), the rest get a
/// random level only.
/// </summary>
internal static class NonSpeechSignals
{
    public const int SampleRate = 8000;

    /// <summary>The kinds, in report order.</summary>
    public static readonly string[] Kinds = ["dtmf", "call-progress", "hold-music", "line-noise", "synthetic-voice"];

    public static float[] Generate(string kind, double seconds, Random rng)
    {
        int n = (int)(seconds * SampleRate);
        var x = kind switch
        {
            "dtmf" => Dtmf(n, rng),
            "call-progress" => CallProgress(n, rng),
            "hold-music" => HoldMusic(n, rng),
            "line-noise" => LineNoise(n, rng),
            "synthetic-voice" => SyntheticVoice(n, rng),
            _ => throw new ArgumentException($"unknown non-speech kind '{kind}' (one of {string.Join(", ", Kinds)})"),
        };
        if (rng.NextDouble() < 0.5) return TelephoneAugmenter.Apply(x, SampleRate, rng);
        SetPeak(x, -30 + 25 * rng.NextDouble());
        return x;
    }

    /// <summary>Key presses: the row and column tones of random digits, 40-200 ms each, 40-600 ms apart, as IVR menus and PIN entry produce.</summary>
    private static float[] Dtmf(int n, Random rng)
    {
        double[] low = [697, 770, 852, 941], high = [1209, 1336, 1477, 1633];
        var x = new float[n];
        int i = (int)(rng.NextDouble() * 0.3 * SampleRate);
        while (i < n)
        {
            int len = (int)((0.04 + 0.16 * rng.NextDouble()) * SampleRate);
            double f1 = low[rng.Next(4)], f2 = high[rng.Next(4)];
            // twist: the high tone up to 4 dB louder or quieter than the low one
            double twist = Math.Pow(10, (rng.NextDouble() * 8 - 4) / 20);
            Tone(x, i, len, f1, 0.5);
            Tone(x, i, len, f2, 0.5 * twist);
            i += len + (int)((0.04 + 0.56 * rng.NextDouble()) * SampleRate);
        }
        return x;
    }

    /// <summary>Ring-back and busy tones of the common national plans (cadence in seconds on/off).</summary>
    private static float[] CallProgress(int n, Random rng)
    {
        (double[] Freqs, double[] Cadence)[] plans =
        [
            ([440, 480], [2.0, 4.0]),           // North American ring-back
            ([400, 450], [0.4, 0.2, 0.4, 2.0]), // UK ring-back
            ([425], [1.0, 4.0]),                // ETSI ring-back
            ([480, 620], [0.5, 0.5]),           // North American busy
            ([425], [0.5, 0.5]),                // ETSI busy
            ([350, 440], [1.0, 0.0]),           // North American dial tone (continuous)
        ];
        var (freqs, cadence) = plans[rng.Next(plans.Length)];
        var x = new float[n];
        int i = -(int)(rng.NextDouble() * cadence.Sum() * SampleRate); // start anywhere in the cadence
        for (int step = 0; i < n; step++)
        {
            int len = (int)(cadence[step % cadence.Length] * SampleRate);
            if (step % 2 == 0 && len > 0)
            {
                int start = Math.Max(0, i), end = Math.Min(n, i + len);
                foreach (var f in freqs) Tone(x, start, end - start, f, 0.5);
            }
            i += len;
        }
        return x;
    }

    /// <summary>
    /// Music-like: a melody of harmonic notes (4-8 partials, 1/k amplitudes, plucked or sustained envelope)
    /// over a held three-note chord, notes from a major scale at 80-160 beats per minute, sometimes with a
    /// hi-hat-like noise tick on the beat.
    /// </summary>
    private static float[] HoldMusic(int n, Random rng)
    {
        int[] scale = [0, 2, 4, 5, 7, 9, 11];
        double root = 110 * Math.Pow(2, rng.Next(12) / 12.0);
        double beat = 60.0 / (80 + 80 * rng.NextDouble());
        int partials = 4 + rng.Next(5);
        bool plucked = rng.NextDouble() < 0.5, ticks = rng.NextDouble() < 0.5;
        var x = new float[n];
        double Note(int degree) => root * Math.Pow(2, (12 * (degree / 7) + scale[degree % 7]) / 12.0);
        for (int i = 0, bar = 0; i < n; bar++)
        {
            int barLen = (int)(4 * beat * SampleRate);
            int chordRoot = rng.Next(7);
            foreach (var d in new[] { chordRoot, chordRoot + 2, chordRoot + 4 })
                Harmonic(x, i, Math.Min(barLen, n - i), Note(d), partials, 0.12, plucked: false);
            for (int b = 0; b < 4 * 2 && i + b * barLen / 8 < n; b++)
            {
                int start = i + b * barLen / 8;
                int len = Math.Min(barLen / 8 * (1 + rng.Next(2)), n - start);
                Harmonic(x, start, len, 2 * Note(rng.Next(10)), partials, 0.25, plucked);
                if (ticks && b % 2 == 0)
                    for (int k = 0; k < Math.Min(160, n - start); k++) x[start + k] += (float)(0.08 * (rng.NextDouble() * 2 - 1) * Math.Exp(-k / 40.0));
            }
            i += barLen;
        }
        return x;
    }

    /// <summary>Idle-line sounds: white, 1/f or brown noise, mains hum with harmonics, crackle, or a mix.</summary>
    private static float[] LineNoise(int n, Random rng)
    {
        var x = new float[n];
        int kind = rng.Next(5);
        double state = 0;
        for (int i = 0; i < n; i++)
        {
            double g = Gaussian(rng);
            state = kind switch { 1 => 0.95 * state + g, 2 => 0.995 * state + 0.1 * g, _ => g };
            x[i] = kind is 0 or 1 or 2 or 4 ? (float)(0.1 * state) : 0f;
        }
        if (kind is 3 or 4)
        {
            double mains = rng.NextDouble() < 0.5 ? 50 : 60;
            for (int h = 1; h <= 15; h += rng.Next(1, 3)) Tone(x, 0, n, mains * h, 0.3 / h);
        }
        if (kind == 4 || rng.NextDouble() < 0.2)
            for (int c = 0; c < n / 800; c++) // crackle: clicks about ten a second
            {
                int at = rng.Next(n);
                for (int k = 0; k < 20 && at + k < n; k++) x[at + k] += (float)(0.5 * Gaussian(rng) * Math.Exp(-k / 4.0));
            }
        return x;
    }

    /// <summary>
    /// A formant-synthesised voice like an old IVR prompt (a glottal pulse train at a nearly flat pitch through
    /// vowel formant resonators, syllables of 150-300 ms with noise-burst consonants and short pauses between
    /// phrases). espeak-ng is not on the build machine, so this stands in for it; it is speech-like by design,
    /// the hardest kind for a gate.
    /// </summary>
    private static float[] SyntheticVoice(int n, Random rng)
    {
        (double F1, double F2, double F3)[] vowels = [(730, 1090, 2440), (530, 1840, 2480), (270, 2290, 3010), (570, 840, 2410), (300, 870, 2240), (660, 1720, 2410)];
        double f0 = 90 + 120 * rng.NextDouble();
        var x = new float[n];
        int i = 0;
        double phase = 0;
        while (i < n)
        {
            int syllables = 3 + rng.Next(8);
            for (int s = 0; s < syllables && i < n; s++)
            {
                // consonant: a 30-80 ms noise burst, high-passed by differencing
                int cons = (int)((0.03 + 0.05 * rng.NextDouble()) * SampleRate);
                double prev = 0;
                for (int k = 0; k < cons && i < n; k++, i++) { double g = Gaussian(rng); x[i] += (float)(0.05 * (g - prev)); prev = g; }
                var v = vowels[rng.Next(vowels.Length)];
                int len = Math.Min((int)((0.12 + 0.2 * rng.NextDouble()) * SampleRate), n - i);
                if (len <= 0) break;
                var source = new double[len];
                for (int k = 0; k < len; k++)
                {
                    double f = f0 * (1 - 0.1 * (double)(i + k) / n); // slow declination, otherwise monotone
                    phase += f / SampleRate;
                    if (phase >= 1) { phase -= 1; source[k] = 1; }
                }
                var voiced = Resonate(Resonate(Resonate(source, v.F1, 90), v.F2, 110), v.F3, 170);
                double peak = Math.Max(1e-9, voiced.Max(Math.Abs));
                for (int k = 0; k < len; k++) x[i + k] += (float)(0.5 / peak * voiced[k] * Math.Sin(Math.PI * k / len));
                i += len;
            }
            i += (int)((0.2 + 0.5 * rng.NextDouble()) * SampleRate); // pause between phrases
        }
        return x;
    }

    /// <summary>Two-pole resonator at <paramref name="f"/> Hz with bandwidth <paramref name="bw"/> Hz, unit gain at the peak.</summary>
    private static double[] Resonate(double[] x, double f, double bw)
    {
        double r = Math.Exp(-Math.PI * bw / SampleRate), c = 2 * r * Math.Cos(2 * Math.PI * f / SampleRate), g = 1 - r;
        var y = new double[x.Length];
        double y1 = 0, y2 = 0;
        for (int k = 0; k < x.Length; k++) { y[k] = g * x[k] + c * y1 - r * r * y2; y2 = y1; y1 = y[k]; }
        return y;
    }

    private static void Tone(float[] x, int start, int length, double f, double amplitude)
    {
        double w = 2 * Math.PI * f / SampleRate;
        for (int k = 0; k < length && start + k < x.Length; k++) x[start + k] += (float)(amplitude * Math.Sin(w * k));
    }

    private static void Harmonic(float[] x, int start, int length, double f, int partials, double amplitude, bool plucked)
    {
        for (int h = 1; h <= partials && f * h < SampleRate / 2.0; h++)
        {
            double w = 2 * Math.PI * f * h / SampleRate;
            for (int k = 0; k < length && start + k < x.Length; k++)
            {
                double envelope = plucked ? Math.Exp(-3.0 * k / SampleRate / 0.3) : Math.Min(1, k / 400.0) * Math.Min(1, (length - k) / 400.0);
                x[start + k] += (float)(amplitude / h * envelope * Math.Sin(w * k));
            }
        }
    }

    private static void SetPeak(float[] x, double peakDbfs)
    {
        float peak = 0;
        foreach (var v in x) peak = MathF.Max(peak, MathF.Abs(v));
        if (peak == 0) return;
        float gain = (float)Math.Pow(10, peakDbfs / 20) / peak;
        for (int i = 0; i < x.Length; i++) x[i] *= gain;
    }

    private static double Gaussian(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
