using System.Collections.Concurrent;
using System.Numerics;

namespace Streaming.Audio;

/// <summary>
/// Streaming, anti-aliased sample-rate converter for one channel: a polyphase Kaiser-windowed
/// sinc filter at the exact rational ratio L/M (44.1 kHz to 8 kHz is 80/441), with integer
/// bookkeeping, so there is no drift however long the stream. Output sample n is time-aligned
/// with input time n·M/L (the filter delay is compensated), and the output is bit-identical
/// whatever the chunking of the input. Passband up to 85% of the lower Nyquist frequency
/// (3400 Hz at 8 kHz), stopband from the lower Nyquist frequency (4000 Hz), 80 dB design
/// attenuation. Equal rates pass samples through untouched.
/// </summary>
public sealed class Resampler
{
    private const double PassbandFraction = 0.85; // of the lower Nyquist frequency: 3400 Hz of 4000
    private const double StopbandDb = 80;         // design target; the test asserts >= 60 dB measured
    private const int BlockSamples = 1024;        // input taken per refill of the history buffer

    private static readonly ConcurrentDictionary<(int L, int M), Filter> s_filters = new();

    private readonly Filter _filter;
    private readonly int _l;
    private readonly int _m;
    private readonly float[] _buffer; // history (the filter's reach) followed by new input
    private int _filled;              // valid samples in _buffer
    private long _t;                  // next output's position in _buffer, in 1/L input samples
    private long _inputCount;
    private long _outputCount;

    public Resampler(int inputRate, int outputRate = 8000)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputRate);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputRate);
        var g = Gcd(inputRate, outputRate);
        _l = outputRate / g;
        _m = inputRate / g;
        InputRate = inputRate;
        OutputRate = outputRate;
        // Filters are immutable and shared: a process serves many streams at the same rates.
        _filter = s_filters.GetOrAdd((_l, _m), key => Filter.Design(key.L, key.M));
        _buffer = IsPassthrough ? [] : new float[_filter.Taps + BlockSamples];
        Reset();
    }

    public int InputRate { get; }

    public int OutputRate { get; }

    /// <summary>
    /// Largest number of samples <see cref="Process"/> can write for <paramref name="inputLength"/>
    /// input samples; <c>MaxOutputLength(0)</c> bounds <see cref="Flush"/>.
    /// </summary>
    public int MaxOutputLength(int inputLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(inputLength);
        if (IsPassthrough) return inputLength;
        // Outputs still waiting for look-ahead can be released: at most Taps buffered input samples.
        return (int)(((long)inputLength + _filter.Taps + 1) * _l / _m + 1);
    }

    /// <summary>Consumes all of <paramref name="input"/>; returns the number of samples written.</summary>
    public int Process(ReadOnlySpan<float> input, Span<float> output)
    {
        RequireRoom(output, input.Length);
        if (IsPassthrough)
        {
            input.CopyTo(output);
            return input.Length;
        }
        _inputCount += input.Length;
        var written = 0;
        while (!input.IsEmpty)
        {
            var n = Math.Min(input.Length, _buffer.Length - _filled);
            input[..n].CopyTo(_buffer.AsSpan(_filled));
            _filled += n;
            input = input[n..];
            written += Emit(output[written..], long.MaxValue);
            Compact();
        }
        return written;
    }

    /// <summary>
    /// Ends the stream: writes the outputs that needed look-ahead past the last input sample (as if
    /// silence followed), so the total output is exactly ceil(inputs·L/M), then resets.
    /// </summary>
    public int Flush(Span<float> output)
    {
        RequireRoom(output, 0);
        if (IsPassthrough) return 0;
        var total = (_inputCount * _l + _m - 1) / _m;
        var written = 0;
        while (_outputCount < total)
        {
            var n = Math.Min(_filter.Taps, _buffer.Length - _filled);
            _buffer.AsSpan(_filled, n).Clear();
            _filled += n;
            written += Emit(output[written..], total);
            Compact();
        }
        Reset();
        return written;
    }

    /// <summary>Forgets all history: the next sample starts a new stream.</summary>
    public void Reset()
    {
        // Half the filter's reach of zeros before the first sample centres output 0 on input 0.
        _filled = _filter.Taps / 2;
        _buffer.AsSpan(0, _filled).Clear();
        _t = 0;
        _inputCount = 0;
        _outputCount = 0;
    }

    private bool IsPassthrough => _l == 1 && _m == 1;

    private void RequireRoom(Span<float> output, int inputLength)
    {
        var need = MaxOutputLength(inputLength);
        if (output.Length < need)
        {
            throw new ArgumentException($"output holds {output.Length} samples; MaxOutputLength({inputLength}) = {need} needed", nameof(output));
        }
    }

    /// <summary>Writes every output whose window lies in the buffer, up to output number <paramref name="limit"/>.</summary>
    private int Emit(Span<float> output, long limit)
    {
        var taps = _filter.Taps;
        var coefficients = _filter.Coefficients;
        var written = 0;
        while (_outputCount < limit)
        {
            var start = (int)(_t / _l);
            if (start + taps > _filled) break;
            var phase = (int)(_t % _l);
            output[written++] = Dot(_buffer.AsSpan(start, taps), coefficients.AsSpan(phase * taps, taps));
            _t += _m;
            _outputCount++;
        }
        return written;
    }

    /// <summary>Drops input no future output reaches, keeping the buffer's free space for new input.</summary>
    private void Compact()
    {
        var drop = (int)Math.Min(_t / _l, _filled);
        if (drop == 0) return;
        _buffer.AsSpan(drop, _filled - drop).CopyTo(_buffer);
        _filled -= drop;
        _t -= (long)drop * _l;
    }

    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> h)
    {
        // Four independent accumulators hide the add latency that one dependency chain would expose.
        var width = Vector<float>.Count;
        Vector<float> a0 = default, a1 = default, a2 = default, a3 = default;
        var i = 0;
        for (; i <= x.Length - 4 * width; i += 4 * width)
        {
            a0 += new Vector<float>(x[i..]) * new Vector<float>(h[i..]);
            a1 += new Vector<float>(x[(i + width)..]) * new Vector<float>(h[(i + width)..]);
            a2 += new Vector<float>(x[(i + 2 * width)..]) * new Vector<float>(h[(i + 2 * width)..]);
            a3 += new Vector<float>(x[(i + 3 * width)..]) * new Vector<float>(h[(i + 3 * width)..]);
        }
        for (; i <= x.Length - width; i += width)
        {
            a0 += new Vector<float>(x[i..]) * new Vector<float>(h[i..]);
        }
        var sum = Vector.Sum((a0 + a1) + (a2 + a3));
        for (; i < x.Length; i++) sum += x[i] * h[i];
        return sum;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>
    /// The prototype low-pass at rate input·L, cut into L phases of <see cref="Taps"/> coefficients,
    /// each stored in input order so an output is one contiguous dot product.
    /// </summary>
    private sealed class Filter
    {
        private Filter(int taps, float[] coefficients)
        {
            Taps = taps;
            Coefficients = coefficients;
        }

        public int Taps { get; }

        public float[] Coefficients { get; }

        public static Filter Design(int l, int m)
        {
            if (l == 1 && m == 1) return new Filter(0, []);
            // Frequencies as fractions of the prototype's rate input·L; the lower Nyquist bounds the band.
            var nyquist = 0.5 / Math.Max(l, m);
            var passEdge = PassbandFraction * nyquist;
            var cutoff = (passEdge + nyquist) / 2;
            var transition = nyquist - passEdge;
            // Kaiser's formulas: the order and window shape for the attenuation over the transition width.
            var beta = 0.1102 * (StopbandDb - 8.7);
            var order = (StopbandDb - 7.95) / (2.285 * 2 * Math.PI * transition);
            var half = (int)Math.Ceiling(order / (2.0 * l)); // reach on each side, in input samples
            var centre = half * l;
            var length = 2 * centre + 1;
            // Input window [q - half - 1, q + half] covers the support for every phase.
            var taps = 2 * half + 2;

            var prototype = new double[taps * l];
            var i0Beta = BesselI0(beta);
            var sum = 0.0;
            for (var k = 0; k < length; k++)
            {
                var x = (double)(k - centre) / centre;
                var window = BesselI0(beta * Math.Sqrt(Math.Max(0, 1 - x * x))) / i0Beta;
                var arg = 2 * cutoff * (k - centre);
                var sinc = arg == 0 ? 1 : Math.Sin(Math.PI * arg) / (Math.PI * arg);
                prototype[k] = 2 * cutoff * sinc * window;
                sum += prototype[k];
            }

            // Unity gain at DC after upsampling by L (each phase sums to about 1).
            var coefficients = new float[taps * l];
            for (var p = 0; p < l; p++)
            {
                for (var j = 0; j < taps; j++)
                {
                    coefficients[p * taps + j] = (float)(prototype[p + (taps - 1 - j) * l] * l / sum);
                }
            }
            return new Filter(taps, coefficients);
        }

        private static double BesselI0(double x)
        {
            // Power series; terms fall fast for the beta values used here (< 10).
            double sum = 1, term = 1, q = x * x / 4;
            for (var k = 1; term > 1e-12 * sum; k++)
            {
                term *= q / ((double)k * k);
                sum += term;
            }
            return sum;
        }
    }
}
