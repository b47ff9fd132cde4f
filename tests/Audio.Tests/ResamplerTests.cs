using Streaming.Audio;
using Xunit.Abstractions;

namespace Streaming.Tests.Audio;

public sealed class ResamplerTests(ITestOutputHelper output)
{
    private const int OutRate = 8000;
    private const float Amplitude = 0.5f;

    public static TheoryData<int> WidebandRates => new() { 11025, 16000, 22050, 32000, 44100, 48000 };

    [Theory]
    [MemberData(nameof(WidebandRates))]
    public void Process_PassbandTones_GainWithinPointOneDecibel(int inputRate)
    {
        double worst = 0;
        foreach (var frequency in new[] { 50, 300, 1000, 2000, 3000, 3300, 3400 })
        {
            var y = ResampleAll(Sine(inputRate, frequency, 1.5), inputRate);
            var (gain, _) = ToneAt(y, frequency);
            var db = 20 * Math.Log10(gain / Amplitude);
            output.WriteLine($"{inputRate} Hz -> 8 kHz, {frequency} Hz tone: {db:F4} dB");
            worst = Math.Max(worst, Math.Abs(db));
        }
        Assert.True(worst <= 0.1, $"passband ripple {worst:F4} dB exceeds 0.1 dB at {inputRate} Hz");
    }

    [Theory]
    [MemberData(nameof(WidebandRates))]
    public void Process_TonesAboveOutputNyquist_AttenuatedBySixtyDecibels(int inputRate)
    {
        double worst = double.NegativeInfinity;
        var inputRms = Amplitude / Math.Sqrt(2);
        foreach (var frequency in new[] { 4050, 4100, 4600, 5000, 6000, 7000, 7900, 10000, 15000, 20000, 23900 })
        {
            if (frequency >= inputRate / 2) continue;
            var y = ResampleAll(Sine(inputRate, frequency, 1.5), inputRate);
            // Whatever reaches the output is aliasing: every sample is error. (4000 Hz itself is
            // skipped: sampled at 8 kHz it lands on the zeros of the Nyquist sine and proves nothing.)
            var window = Steady(y);
            var rms = Math.Sqrt(window.ToArray().Sum(v => (double)v * v) / window.Length);
            var db = 20 * Math.Log10(Math.Max(rms, 1e-12) / inputRms);
            output.WriteLine($"{inputRate} Hz -> 8 kHz, {frequency} Hz tone: {db:F1} dB");
            worst = Math.Max(worst, db);
        }
        Assert.True(worst <= -60, $"stopband attenuation only {-worst:F1} dB at {inputRate} Hz");
    }

    [Theory]
    [MemberData(nameof(WidebandRates))]
    public void Process_Tone_OutputTimeAlignedWithInput(int inputRate)
    {
        var y = ResampleAll(Sine(inputRate, 1000, 1.5), inputRate);
        var (_, phase) = ToneAt(y, 1000);
        // A delay of d output samples shifts a 1 kHz tone's phase by 2π·1000·d/8000; 0.01 rad is 0.013 samples.
        Assert.InRange(phase, -0.01, 0.01);
    }

    [Theory]
    [InlineData(44100)]
    [InlineData(11025)]
    [InlineData(48000)]
    public void Process_AnyChunking_IdenticalOutput(int inputRate)
    {
        var random = new Random(7);
        var x = new float[inputRate * 2 + 17];
        for (var i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
        var whole = ResampleAll(x, inputRate);

        foreach (var chunk in new[] { 1, 37, 160, 4000, 0 })
        {
            var resampler = new Resampler(inputRate);
            var collected = new List<float>();
            var buffer = new float[resampler.MaxOutputLength(4000)];
            for (var i = 0; i < x.Length;)
            {
                var n = Math.Min(chunk == 0 ? random.Next(1, 3000) : chunk, x.Length - i);
                var written = resampler.Process(x.AsSpan(i, n), buffer);
                collected.AddRange(buffer.AsSpan(0, written));
                i += n;
            }
            collected.AddRange(buffer.AsSpan(0, resampler.Flush(buffer)));
            Assert.Equal(whole, collected.ToArray());
        }
    }

    [Fact]
    public void Process_SameRate_PassesSamplesThrough()
    {
        var x = Sine(8000, 440, 0.5);
        var resampler = new Resampler(8000);
        var y = new float[resampler.MaxOutputLength(x.Length)];
        Assert.Equal(x.Length, resampler.Process(x, y));
        Assert.Equal(x, y);
        Assert.Equal(0, resampler.Flush(y));
    }

    [Theory]
    [InlineData(44100, 12345)]
    [InlineData(11025, 1)]
    [InlineData(22050, 99999)]
    [InlineData(48000, 6001)]
    [InlineData(16000, 3)]
    public void Flush_AfterAnyLength_OutputCountIsCeilingOfExactRatio(int inputRate, int inputLength)
    {
        var y = ResampleAll(new float[inputLength], inputRate);
        var expected = (long)Math.Ceiling((double)inputLength * OutRate / inputRate);
        Assert.Equal(expected, y.Length);
    }

    [Fact]
    public void Process_OneMinuteAt44100_NoDriftAgainstExactRatio()
    {
        const int frequency = 1000;
        const int seconds = 60;
        var resampler = new Resampler(44100);
        var block = new float[4410];
        var buffer = new float[resampler.MaxOutputLength(block.Length)];
        var y = new float[OutRate * seconds];
        var produced = 0;
        for (var start = 0L; start < 44100L * seconds; start += block.Length)
        {
            for (var i = 0; i < block.Length; i++) block[i] = (float)(Amplitude * Math.Sin(2 * Math.PI * frequency * (start + i) / 44100));
            var written = resampler.Process(block, buffer);
            buffer.AsSpan(0, written).CopyTo(y.AsSpan(produced));
            produced += written;
        }
        var tail = resampler.Flush(buffer);
        Assert.Equal(y.Length, produced + tail);

        // The last second before the flush tail still sits on the ideal 8 kHz grid.
        double worst = 0;
        for (var n = produced - OutRate; n < produced; n++)
        {
            var ideal = Amplitude * Math.Sin(2 * Math.PI * frequency * n / OutRate);
            worst = Math.Max(worst, Math.Abs(y[n] - ideal));
        }
        Assert.True(worst < 1e-3, $"max deviation {worst:E2} from the ideal tone after {seconds} s");
    }

    [Theory]
    [InlineData(300)]
    [InlineData(1000)]
    [InlineData(3400)]
    public void Process_Upsample8kTo16k_PassbandToneKeepsAmplitude(int frequency)
    {
        var resampler = new Resampler(8000, 16000);
        var x = Sine(8000, frequency, 1.5);
        var y = new float[resampler.MaxOutputLength(x.Length) + resampler.MaxOutputLength(0)];
        var n = resampler.Process(x, y);
        n += resampler.Flush(y.AsSpan(n));
        Assert.Equal(2 * x.Length, n);

        double worst = 0;
        for (var i = 4000; i < 20000; i++)
        {
            var ideal = Amplitude * Math.Sin(2 * Math.PI * frequency * i / 16000);
            worst = Math.Max(worst, Math.Abs(y[i] - ideal));
        }
        // 0.1 dB of a 0.5 amplitude is 0.0058; time alignment errors would show up here too.
        Assert.True(worst < 0.005, $"max deviation {worst:E2} from the ideal {frequency} Hz tone at 16 kHz");
    }

    [Fact]
    public void Process_OutputTooSmall_Throws()
    {
        var resampler = new Resampler(16000);
        var output = new float[10];
        Assert.Throws<ArgumentException>(() => resampler.Process(new float[1000], output));
    }

    [Fact]
    public void Reset_MidStream_StartsOverLikeANewInstance()
    {
        var x = Sine(32000, 700, 0.3);
        var first = ResampleAll(x, 32000);
        var resampler = new Resampler(32000);
        var scratch = new float[resampler.MaxOutputLength(x.Length)];
        resampler.Process(Sine(32000, 2500, 0.1), scratch);
        resampler.Reset();
        var n = resampler.Process(x, scratch);
        n += resampler.Flush(scratch.AsSpan(n));
        Assert.Equal(first, scratch[..n]);
    }

    private static float[] ResampleAll(float[] x, int inputRate)
    {
        var resampler = new Resampler(inputRate, OutRate);
        var y = new float[resampler.MaxOutputLength(x.Length) + resampler.MaxOutputLength(0)];
        var n = resampler.Process(x, y);
        n += resampler.Flush(y.AsSpan(n));
        return y[..n];
    }

    private static float[] Sine(int rate, double frequency, double seconds)
    {
        var x = new float[(int)(rate * seconds)];
        for (var i = 0; i < x.Length; i++) x[i] = (float)(Amplitude * Math.Sin(2 * Math.PI * frequency * i / rate));
        return x;
    }

    /// <summary>One second in the middle of the output, clear of the start and end transients.</summary>
    private static ReadOnlySpan<float> Steady(float[] y) => y.AsSpan(2000, OutRate);

    /// <summary>Amplitude and phase (relative to sin) of a tone over a whole number of its periods.</summary>
    private static (double Amplitude, double Phase) ToneAt(float[] y, int frequency)
    {
        var window = Steady(y);
        double s = 0, c = 0;
        for (var i = 0; i < window.Length; i++)
        {
            var n = 2000 + i;
            var angle = 2 * Math.PI * frequency * n / OutRate;
            s += window[i] * Math.Sin(angle);
            c += window[i] * Math.Cos(angle);
        }
        s *= 2.0 / window.Length;
        c *= 2.0 / window.Length;
        return (Math.Sqrt(s * s + c * c), Math.Atan2(c, s));
    }
}
