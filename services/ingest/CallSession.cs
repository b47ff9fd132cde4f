using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Ingest;

/// <summary>
/// One live call, whatever protocol carries it: decodes the audio frames of the start message's encoding and
/// feeds the shared <see cref="CallIngestor"/> (which applies the customer-only policy before anything is computed).
/// Protocol adapters (the native WebSocket protocol today, platform protocols later) only parse their messages
/// into <see cref="CallStart"/>, audio bytes and a stop.
/// </summary>
public sealed class CallSession : IDisposable
{
    private readonly CallIngestor _ingestor;
    private readonly KafkaMessageSink<AudioChunk> _sink;
    private readonly SampleEncoding _encoding;
    private readonly int _channels;
    private readonly int _bytesPerFrame;
    private readonly int _sampleRate;
    private float[] _samples = [];
    private long _frames;

    /// <param name="sink">this call's own sink, tracking deliveries (so the stop confirms exactly this call's audio)</param>
    public CallSession(CallStart start, bool customerOnly, KafkaMessageSink<AudioChunk> sink, int chunkSamples)
    {
        var (encoding, roles) = start.Validate();
        _encoding = encoding;
        _channels = start.Channels;
        _sampleRate = start.SampleRate;
        _bytesPerFrame = _channels * (encoding == SampleEncoding.Pcm16 ? 2 : 1);
        _sink = sink;
        var assignments = roles.Select((role, channel) => new ChannelAssignment(channel, role switch
        {
            SpeakerRole.Customer => "customer",
            SpeakerRole.Agent => "agent",
            _ => $"speaker{channel}",
        }, role)).ToList();
        _ingestor = new CallIngestor(start.CallId!, start.SampleRate, start.Channels, assignments, customerOnly, sink, chunkSamples: chunkSamples);
        CallId = start.CallId!;
    }

    public string CallId { get; }

    /// <summary>The speakers this call publishes (agent channels are absent under the customer-only policy).</summary>
    public IReadOnlyList<string> Streams => [.. _ingestor.Streams.Select(s => s.Speaker)];

    public double Seconds => _frames / (double)_sampleRate;

    /// <summary>Takes one binary message: whole frames (one sample of every channel) in the call's encoding.</summary>
    public async ValueTask AudioAsync(ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        if (audio.Length % _bytesPerFrame != 0)
            throw new IngestProtocolException(CloseCodes.InvalidPayload,
                $"audio message of {audio.Length} bytes is not whole frames of {_channels} channel(s) x {_bytesPerFrame / _channels} byte(s)");
        var count = audio.Length / (_bytesPerFrame / _channels);
        if (_samples.Length < count)
        {
            if (_samples.Length > 0) ArrayPool<float>.Shared.Return(_samples);
            _samples = ArrayPool<float>.Shared.Rent(count);
        }
        Decode(audio.Span, _samples.AsSpan(0, count));
        _frames += count / _channels;
        await _ingestor.WriteAsync(_samples.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends the call: final chunks of every stream, then waits until Kafka has them all.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _ingestor.CompleteAsync(cancellationToken).ConfigureAwait(false);
        await _sink.LastDelivery.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Decode(ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (_encoding)
        {
            case SampleEncoding.MuLaw: G711.MuLawDecode(src, dst); break;
            case SampleEncoding.ALaw: G711.ALawDecode(src, dst); break;
            default: Pcm16(MemoryMarshal.Cast<byte, short>(src), dst); break;
        }
    }

    /// <summary>Little-endian 16-bit PCM to [-1, 1): widened and scaled a vector at a time.</summary>
    private static void Pcm16(ReadOnlySpan<short> src, Span<float> dst)
    {
        const float scale = 1f / 32768f;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var shorts = MemoryMarshal.Cast<short, Vector<short>>(src);
            var floats = MemoryMarshal.Cast<float, Vector<float>>(dst);
            for (var v = 0; v < shorts.Length; v++)
            {
                Vector.Widen(shorts[v], out var low, out var high);
                floats[2 * v] = Vector.ConvertToSingle(low) * scale;
                floats[2 * v + 1] = Vector.ConvertToSingle(high) * scale;
            }
            i = shorts.Length * Vector<short>.Count;
        }
        for (; i < src.Length; i++) dst[i] = src[i] * scale; // the tail shorter than one vector
    }

    public void Dispose()
    {
        if (_samples.Length > 0) ArrayPool<float>.Shared.Return(_samples);
        _samples = [];
    }
}
