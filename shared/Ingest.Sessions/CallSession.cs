using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Pipeline;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// One live call, whatever protocol carries it (created by <see cref="IngestSessions.StartAsync"/>): decodes audio of the
/// start's encoding and feeds the shared <see cref="CallIngestor"/>, which drops the channels the tenant's customer-only
/// policy excludes before anything is decoded or computed on them. One writer at a time (a connection's receive loop).
/// A session either ends the call (<see cref="StopAsync"/>) or hands it over (<see cref="HandOverAsync"/>, also what
/// disposing an unended session does): then another session, on any instance, resumes it at the same stream position.
/// </summary>
public sealed class CallSession : IAsyncDisposable
{
    /// <summary>Samples decoded at a time: the decode buffers stay this size whatever the message size.</summary>
    private const int DecodeBlockSamples = 4096;

    private readonly IngestSessions _owner;
    private readonly CallIngestor _ingestor;
    private readonly PositionedSink _sink;
    private readonly TimeProvider _time;
    private readonly SampleEncoding _encoding;
    private readonly int _channels;
    private readonly int _sampleBytes;
    private readonly int _sampleRate;
    private readonly double _maxRealTimeFactor;
    private readonly TimeSpan _burst;
    private readonly long _startedAt;
    private readonly double _resumedSeconds;
    private readonly int[] _keptChannels; // the channels the tenant's policy keeps (all but the agent's under customer-only)
    private float[] _samples = [];
    private byte[] _channelBytes = [];
    private long _frames;
    private long[]? _channelFrames; // per-track protocols: frames received per channel
    private State _state;
    // How far the audio trails the session's clock when a message arrives: at the latest message, and at its smallest.
    private double _trail, _smallestTrail = double.PositiveInfinity;

    private enum State { Live, Stopped, HandedOver }

    internal CallSession(SessionStart start, ICallAudioSink sink, string holder, CallPosition? resumeFrom, IngestSessions owner, TimeProvider time)
    {
        _owner = owner;
        _time = time;
        _encoding = start.Encoding;
        _channels = start.Channels;
        _sampleRate = start.SampleRate;
        _sampleBytes = start.SampleBytes;
        _maxRealTimeFactor = start.Tenant.MaxRealTimeFactor;
        _burst = owner.Options.RealTimeBurst;
        _startedAt = time.GetTimestamp();
        _sink = new PositionedSink(sink, resumeFrom);
        _resumedSeconds = resumeFrom?.Seconds ?? 0;
        Holder = holder;
        IsResumed = resumeFrom is not null;
        Tenant = start.Tenant;
        CallId = start.CallId;
        var assignments = start.ChannelRoles.Select((role, channel) => new ChannelAssignment(channel, role switch
        {
            SpeakerRole.Customer => "customer",
            SpeakerRole.Agent => "agent",
            _ => $"speaker{channel}",
        }, role)).ToList();
        _ingestor = new CallIngestor(Tenant.Id, CallId, start.SampleRate, start.Channels, assignments, Tenant.CustomerOnly, _sink, chunkSamples: owner.Options.ChunkSamples,
            metadata: start.Metadata);
        _keptChannels = [.. Enumerable.Range(0, _channels).Where(_ingestor.Keeps)];
    }

    public Tenant Tenant { get; }

    public string CallId { get; }

    /// <summary>True when this session continues a call an earlier session handed over (its streams go on from their position).</summary>
    public bool IsResumed { get; }

    /// <summary>This session's claim on the call id (see <see cref="ICallClaims"/>).</summary>
    internal string Holder { get; }

    /// <summary>Holds a place in the tenant's session count until disposed.</summary>
    internal bool Counted { get; set; } = true;

    /// <summary>The speakers this call publishes (agent channels are absent under the customer-only policy).</summary>
    public IReadOnlyList<string> Streams => [.. _ingestor.Streams.Select(s => s.Speaker)];

    /// <summary>Call time so far, over every session of the call: audio received plus stretches advanced over.</summary>
    public double Seconds => _resumedSeconds + _frames / (double)_sampleRate;

    /// <summary>Takes one binary message: whole frames (one sample of every channel, interleaved) in the call's encoding.</summary>
    /// <exception cref="IngestProtocolException">not whole frames (<see cref="CloseCodes.InvalidPayload"/>), faster than the tenant may stream (<see cref="CloseCodes.TooFast"/>)</exception>
    public async ValueTask AudioAsync(ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        if (_state == State.HandedOver) return; // in flight on a connection whose call goes on elsewhere
        var frameBytes = _channels * _sampleBytes;
        if (audio.Length % frameBytes != 0)
            throw new IngestProtocolException(CloseCodes.InvalidPayload,
                $"audio message of {audio.Length} bytes is not whole frames of {_channels} channel(s) x {_sampleBytes} byte(s)");
        CheckRate(_frames + audio.Length / frameBytes);
        if (_keptChannels.Length < _channels)
        {
            await KeptChannelsAsync(audio, cancellationToken).ConfigureAwait(false);
            return;
        }
        var blockBytes = Math.Max(1, DecodeBlockSamples / _channels) * frameBytes;
        for (var offset = 0; offset < audio.Length; offset += blockBytes)
        {
            var block = audio.Slice(offset, Math.Min(blockBytes, audio.Length - offset));
            var count = block.Length / _sampleBytes;
            Decode(block.Span, Samples(count));
            _frames += count / _channels;
            await _ingestor.WriteAsync(_samples.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Interleaved audio of a call whose policy drops channels (customer-only): the kept channels' bytes are picked out
    /// and decoded, the dropped channels' bytes are skipped, never decoded.
    /// </summary>
    private async ValueTask KeptChannelsAsync(ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        var frameBytes = _channels * _sampleBytes;
        var frames = audio.Length / frameBytes;
        for (var first = 0; first < frames; first += DecodeBlockSamples)
        {
            var count = Math.Min(DecodeBlockSamples, frames - first);
            var block = audio.Slice(first * frameBytes, count * frameBytes);
            foreach (var channel in _keptChannels)
            {
                DecodeChannel(block.Span, channel, count);
                await _ingestor.WriteChannelAsync(channel, _samples.AsMemory(0, count), cancellationToken).ConfigureAwait(false);
            }
            _frames += count;
        }
    }

    /// <summary>Copies one channel's samples (still encoded) out of whole frames, then decodes only those.</summary>
    private void DecodeChannel(ReadOnlySpan<byte> frames, int channel, int count)
    {
        if (_channelBytes.Length < count * _sampleBytes)
        {
            if (_channelBytes.Length > 0) ArrayPool<byte>.Shared.Return(_channelBytes);
            _channelBytes = ArrayPool<byte>.Shared.Rent(count * _sampleBytes);
        }
        var encoded = _channelBytes.AsSpan(0, count * _sampleBytes);
        // A strided gather of 1- or 2-byte samples (no vector form); cheaper than the decoding it spares.
        if (_sampleBytes == 1)
        {
            for (var i = 0; i < count; i++) encoded[i] = frames[i * _channels + channel];
        }
        else
        {
            var source = MemoryMarshal.Cast<byte, short>(frames);
            var target = MemoryMarshal.Cast<byte, short>(encoded);
            for (var i = 0; i < count; i++) target[i] = source[i * _channels + channel];
        }
        Decode(encoded, Samples(count));
    }

    /// <summary>
    /// Takes one channel's audio on its own (protocols that carry each party as a track, like Twilio's inbound and outbound
    /// media). Audio of a channel the policy drops is discarded undecoded. The call clock follows the channel that has
    /// received most, so <see cref="Seconds"/> is the call's length when the tracks differ.
    /// </summary>
    public async ValueTask ChannelAudioAsync(int channel, ReadOnlyMemory<byte> audio, CancellationToken cancellationToken)
    {
        if (_state == State.HandedOver) return;
        if (channel < 0 || channel >= _channels)
            throw new IngestProtocolException(CloseCodes.PolicyViolation, $"channel {channel} does not exist: the call has {_channels}");
        if (audio.Length % _sampleBytes != 0)
            throw new IngestProtocolException(CloseCodes.InvalidPayload, $"audio message of {audio.Length} bytes is not whole samples of {_sampleBytes} byte(s)");
        var count = audio.Length / _sampleBytes;
        _channelFrames ??= new long[_channels];
        CheckRate(Math.Max(_frames, _channelFrames[channel] + count));
        _channelFrames[channel] += count;
        _frames = Math.Max(_frames, _channelFrames[channel]);
        if (!_ingestor.Keeps(channel)) return;
        for (var offset = 0; offset < audio.Length; offset += DecodeBlockSamples * _sampleBytes)
        {
            var block = audio.Slice(offset, Math.Min(DecodeBlockSamples * _sampleBytes, audio.Length - offset));
            var n = block.Length / _sampleBytes;
            Decode(block.Span, Samples(n));
            await _ingestor.WriteChannelAsync(channel, _samples.AsMemory(0, n), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Moves the call clock over a stretch with no audio (AudioHook <c>paused</c>/<c>discarded</c>): every stream gets that
    /// much silence, so later windows keep their call time and the timeline shows the stretch as silence. Not counted
    /// against the tenant's real-time factor (the platform reports time that passed).
    /// </summary>
    public async ValueTask AdvanceAsync(TimeSpan duration, CancellationToken cancellationToken)
    {
        if (duration <= TimeSpan.Zero || _state == State.HandedOver) return;
        var frames = (long)Math.Round(duration.TotalSeconds * _sampleRate);
        var block = Math.Max(1, Math.Min(_sampleRate / 2, DecodeBlockSamples / _channels)); // bounded memory whatever the gap
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

    /// <summary>
    /// Ends the call: final chunks of every stream, waits until they are delivered, and marks the call id ended (a later
    /// start with it is refused with <see cref="CloseCodes.CallEnded"/>). Idempotent.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_state != State.Live) return;
        _state = State.Stopped;
        await _ingestor.CompleteAsync(cancellationToken).ConfigureAwait(false);
        await _sink.DeliveredAsync(cancellationToken).ConfigureAwait(false);
        await _owner.EndAsync(this, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Hands the call over without ending it (the instance drains, or the connection dropped): the audio received so far is
    /// published (a short last chunk, not final), and the call is parked at its stream position so a start with the same
    /// call id, on any instance, resumes it within <see cref="IngestOptions.ResumeWindow"/>; after that its streams are
    /// ended. Audio that still arrives on this session is ignored. Idempotent; no-op after <see cref="StopAsync"/>.
    /// </summary>
    public async Task HandOverAsync(CancellationToken cancellationToken)
    {
        if (_state != State.Live) return;
        _state = State.HandedOver;
        _sink.HandingOver = true;
        try
        {
            await _ingestor.CompleteAsync(cancellationToken).ConfigureAwait(false);
            await _sink.DeliveredAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // Parked even when the last chunks failed: the position counts what was published, and the parker still ends it.
            await _owner.ParkAsync(this, new CallPosition(Seconds, _sink.Positions()), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Refuses audio that runs further ahead of the tenant's real-time factor than the burst allowance, and notes how far the
    /// audio trails the session's clock as it arrives (<see cref="ArrivalDelay"/>).
    /// </summary>
    private void CheckRate(long framesAfter)
    {
        var elapsed = _time.GetElapsedTime(_startedAt).TotalSeconds;
        var allowed = _maxRealTimeFactor * elapsed + _burst.TotalSeconds;
        if (framesAfter / (double)_sampleRate > allowed)
            throw new IngestProtocolException(CloseCodes.TooFast,
                $"audio arrives faster than {_maxRealTimeFactor:0.##}x real time (the tenant's MaxRealTimeFactor) for more than {_burst.TotalSeconds:0.#} s");
        _trail = elapsed - framesAfter / (double)_sampleRate;
        _smallestTrail = Math.Min(_smallestTrail, _trail);
    }

    /// <summary>
    /// How much later this session's latest audio arrived than the session's best: its trail (time since the session started
    /// minus audio received) at the latest message, minus the smallest trail any message had. A live platform sends in real
    /// time, so its trail stays level (a head start or a steady network delay only sets the level); a trail that grows means
    /// this instance, or the pipeline pushing back on it, does not read the audio as fast as it comes. Measured as messages
    /// arrive, so a client sending large blocks is not late between them. Read by the admission from another thread
    /// (<see cref="IngestSessions.ArrivalDelay"/>): a value a message old at worst.
    /// </summary>
    internal TimeSpan ArrivalDelay => double.IsPositiveInfinity(_smallestTrail) ? TimeSpan.Zero : TimeSpan.FromSeconds(_trail - _smallestTrail);

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

    /// <summary>
    /// Frees the call's slot (its place in the tenant's limit) and its buffers. A session neither stopped nor handed over
    /// (the connection dropped) is handed over: the client may reconnect and resume the call.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_state == State.Live) await _owner.HandOverDroppedAsync(this).ConfigureAwait(false);
        }
        finally
        {
            _owner.Release(this);
            if (_samples.Length > 0) ArrayPool<float>.Shared.Return(_samples);
            _samples = [];
            if (_channelBytes.Length > 0) ArrayPool<byte>.Shared.Return(_channelBytes);
            _channelBytes = [];
        }
    }

    /// <summary>
    /// The ingestor's chunks with the call's stream positions: sequence numbers and sample offsets continue where the call
    /// was handed over, so the downstream stages neither drop resumed audio as duplicates nor see a gap. While handing
    /// over, the ingestor's final chunks go out as ordinary ones (an empty one not at all): the streams go on elsewhere.
    /// </summary>
    private sealed class PositionedSink : ICallAudioSink
    {
        private readonly ICallAudioSink _inner;
        private readonly Dictionary<string, StreamPosition> _positions;

        public PositionedSink(ICallAudioSink inner, CallPosition? resumeFrom)
        {
            _inner = inner;
            _positions = resumeFrom?.Streams.ToDictionary(s => s.Speaker, StringComparer.Ordinal) ?? new(StringComparer.Ordinal);
        }

        public bool HandingOver { get; set; }

        public IReadOnlyList<StreamPosition> Positions() => [.. _positions.Values];

        public ValueTask PublishAsync(AudioChunk message, CancellationToken cancellationToken)
        {
            if (HandingOver && message.IsFinal)
            {
                if (message.Samples.Length == 0) return ValueTask.CompletedTask;
                message = message with { IsFinal = false };
            }
            var speaker = message.Stream.Speaker;
            var at = _positions.GetValueOrDefault(speaker) ?? new StreamPosition(speaker, message.Role, 0, 0);
            _positions[speaker] = at with { Sequence = at.Sequence + 1, Samples = at.Samples + message.Samples.Length };
            return _inner.PublishAsync(message with { Sequence = at.Sequence, StartSample = at.Samples }, cancellationToken);
        }

        public Task DeliveredAsync(CancellationToken cancellationToken) => _inner.DeliveredAsync(cancellationToken);
    }
}
