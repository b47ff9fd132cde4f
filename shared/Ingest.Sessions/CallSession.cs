using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Pipeline;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// One live call, whatever protocol carries it (created by <see cref="IngestSessions.Start"/>): decodes audio of the
/// start's encoding and feeds the shared <see cref="CallIngestor"/>, which drops the channels the tenant's customer-only
/// policy excludes before anything is decoded or computed on them. One writer at a time (a connection's receive loop).
/// </summary>
public sealed class CallSession : IAsyncDisposable
{
    private readonly IngestSessions _owner;
    private readonly CallIngestor _ingestor;
    private readonly ICallAudioSink _sink;
    private readonly SampleEncoding _encoding;
    private readonly int _channels;
    private readonly int _sampleBytes;
    private readonly int _sampleRate;
    private float[] _samples = [];
    private long _frames;
    private long[]? _channelFrames; // per-track protocols: frames received per channel
    private bool _stopped;

    internal CallSession(SessionStart start, ICallAudioSink sink, int chunkSamples, IngestSessions owner)
    {
        _owner = owner;
        _encoding = start.Encoding;
        _channels = start.Channels;
        _sampleRate = start.SampleRate;
        _sampleBytes = start.SampleBytes;
        _sink = sink;
        Tenant = start.Tenant;
        CallId = start.CallId;
        var assignments = start.ChannelRoles.Select((role, channel) => new ChannelAssignment(channel, role switch
        {
            SpeakerRole.Customer => "customer",
            SpeakerRole.Agent => "agent",
            _ => $"speaker{channel}",
        }, role)).ToList();
        _ingestor = new CallIngestor(Tenant.Id, CallId, start.SampleRate, start.Channels, assignments, Tenant.CustomerOnly, sink, chunkSamples: chunkSamples,
            metadata: start.Metadata);
    }

    public Tenant Tenant { get; }

    public string CallId { get; }

    /// <summary>The speakers this call publishes (agent channels are absent under the customer-only policy).</summary>
    public IReadOnlyList<string> Streams => [.. _ingestor.Streams.Select(s => s.Speaker)];

    /// <summary>Call time so far: audio received plus stretches advanced over.</summary>
    public double Seconds => _frames / (double)_sampleRate;

    /// <summary>Takes one binary message: whole frames (one sample of every channel, interleaved) in the call's encoding.</summary>
    /// <exception cref="IngestProtocolException">not whole frames (<see cref="CloseCodes.InvalidPayload"/>)</exception>
    public async ValueTask AudioAsync(ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        var frameBytes = _channels * _sampleBytes;
        if (audio.Length % frameBytes != 0)
            throw new IngestProtocolException(CloseCodes.InvalidPayload,
                $"audio message of {audio.Length} bytes is not whole frames of {_channels} channel(s) x {_sampleBytes} byte(s)");
        var count = audio.Length / _sampleBytes;
        Decode(audio.Span, Samples(count));
        _frames += count / _channels;
        await _ingestor.WriteAsync(_samples.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Takes one channel's audio on its own (protocols that carry each party as a track, like Twilio's inbound and outbound
    /// media). Audio of a channel the policy drops is discarded undecoded. The call clock follows the channel that has
    /// received most, so <see cref="Seconds"/> is the call's length when the tracks differ.
    /// </summary>
    public async ValueTask ChannelAudioAsync(int channel, ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        if (channel < 0 || channel >= _channels)
            throw new IngestProtocolException(CloseCodes.PolicyViolation, $"channel {channel} does not exist: the call has {_channels}");
        if (audio.Length % _sampleBytes != 0)
            throw new IngestProtocolException(CloseCodes.InvalidPayload, $"audio message of {audio.Length} bytes is not whole samples of {_sampleBytes} byte(s)");
        var count = audio.Length / _sampleBytes;
        _channelFrames ??= new long[_channels];
        _channelFrames[channel] += count;
        _frames = Math.Max(_frames, _channelFrames[channel]);
        if (!_ingestor.Keeps(channel)) return;
        Decode(audio.Span, Samples(count));
        await _ingestor.WriteChannelAsync(channel, _samples.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Moves the call clock over a stretch with no audio (AudioHook <c>paused</c>/<c>discarded</c>): every stream gets that
    /// much silence, so later windows keep their call time and the timeline shows the stretch as silence.
    /// </summary>
    public async ValueTask AdvanceAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        if (duration <= TimeSpan.Zero) return;
        var frames = (long)Math.Round(duration.TotalSeconds * _sampleRate);
        var block = Math.Max(1, _sampleRate / 2); // half a second at a time: bounded memory whatever the gap
        var silence = Samples(block * _channels);
        silence.Clear();
        while (frames > 0)
        {
            var n = (int)Math.Min(frames, block);
            await _ingestor.WriteAsync(_samples.AsMemory(0, n * _channels), cancellationToken).ConfigureAwait(false);
            frames -= n;
            _frames += n;
        }
        if (_channelFrames is not null) Array.Fill(_channelFrames, _frames);
    }

    /// <summary>Ends the call: final chunks of every stream, then waits until they are delivered. Idempotent.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopped) return;
        _stopped = true;
        await _ingestor.CompleteAsync(cancellationToken).ConfigureAwait(false);
        await _sink.DeliveredAsync(cancellationToken).ConfigureAwait(false);
    }

    private Span<float> Samples(int count)
    {
        if (_samples.Length < count)
        {
            if (_samples.Length > 0) ArrayPool<float>.Shared.Return(_samples);
            _samples = ArrayPool<float>.Shared.Rent(count);
        }
        return _samples.AsSpan(0, count);
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

    internal void DisposeBuffers()
    {
        if (_samples.Length > 0) ArrayPool<float>.Shared.Return(_samples);
        _samples = [];
    }

    /// <summary>Frees the call's slot (its call id and its place in the tenant's limit) and its buffers; does not end the streams.</summary>
    public ValueTask DisposeAsync()
    {
        _owner.End(this);
        DisposeBuffers();
        return ValueTask.CompletedTask;
    }
}
