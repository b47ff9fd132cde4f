using Streaming.Audio;
using Streaming.Contracts;

namespace Streaming.Pipeline;

/// <summary>Which speaker a channel of the incoming audio carries.</summary>
public sealed record ChannelAssignment(int Channel, string Speaker, SpeakerRole Role);

/// <summary>
/// Which channel is the customer and which the agent. The telephony default: channel 0 the customer,
/// channel 1 (when there is one) the agent; further channels are other parties.
/// </summary>
public sealed record ChannelRoles(int CustomerChannel = 0, int? AgentChannel = null)
{
    public IReadOnlyList<ChannelAssignment> Assign(int channels)
    {
        if (CustomerChannel == AgentChannel)
            throw new ArgumentException($"channel {CustomerChannel} cannot be both the customer and the agent");
        // Checked here, not only by the ingestor, so the error names the role the user asked for.
        if (CustomerChannel >= channels)
            throw new ArgumentException($"customer channel {CustomerChannel} does not exist: the audio has {channels} channel(s)");
        if (AgentChannel >= channels)
            throw new ArgumentException($"agent channel {AgentChannel} does not exist: the audio has {channels} channel(s)");
        var agent = AgentChannel ?? (channels > 1 ? (CustomerChannel == 0 ? 1 : 0) : null);
        return Enumerable.Range(0, channels).Select(c =>
            c == CustomerChannel ? new ChannelAssignment(c, "customer", SpeakerRole.Customer)
            : c == agent ? new ChannelAssignment(c, "agent", SpeakerRole.Agent)
            : new ChannelAssignment(c, $"speaker{c}", SpeakerRole.Unknown)).ToList();
    }
}

/// <summary>
/// The ingest stage for one call: takes interleaved audio at the source's rate and channel count,
/// drops channels the policy excludes before anything is computed on them, resamples the rest to
/// the canonical rate and publishes fixed-size chunks per speaker. Not thread-safe: one writer per call.
/// </summary>
public sealed class CallIngestor
{
    /// <summary>Canonical audio: what telephony carries and what the model is trained on.</summary>
    public const int CanonicalRate = 8000;

    private readonly string _tenant;
    private readonly string _callId;
    private readonly int _channels;
    private readonly IMessageSink<AudioChunk> _sink;
    private readonly TimeProvider _time;
    private readonly int _chunkSamples;
    private readonly SpeakerStream[] _streams;
    private readonly IReadOnlyDictionary<string, string>? _metadata;
    private float[] _deinterleaved = [];
    private float[] _resampled = [];
    private bool _completed;

    /// <param name="customerOnly">Drop every channel whose role is not <see cref="SpeakerRole.Customer"/> (EU AI Act Art. 5(1)(f)).</param>
    /// <param name="chunkSamples">Samples per published chunk at 8 kHz; 1600 = 200 ms, a common live-stream granularity.</param>
    /// <param name="tenant">whose call this is (<see cref="StreamKey.DefaultTenant"/> for calls that enter without credentials)</param>
    /// <param name="metadata">the call's metadata from the platform (agent, queue, ...): sent on each stream's first chunk</param>
    public CallIngestor(string tenant, string callId, int sampleRate, int channels, IReadOnlyList<ChannelAssignment> assignments,
        bool customerOnly, IMessageSink<AudioChunk> sink, TimeProvider? time = null, int chunkSamples = 1600,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(callId);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSamples, 1);
        foreach (var a in assignments)
        {
            if (a.Channel < 0 || a.Channel >= channels)
                throw new ArgumentException($"channel {a.Channel} ({a.Speaker}) does not exist: the audio has {channels} channel(s)", nameof(assignments));
        }
        if (assignments.Select(a => a.Speaker).Distinct().Count() != assignments.Count)
            throw new ArgumentException("two channels are assigned the same speaker name", nameof(assignments));

        _tenant = tenant;
        _callId = callId;
        _channels = channels;
        _sink = sink;
        _time = time ?? TimeProvider.System;
        _chunkSamples = chunkSamples;
        _metadata = metadata is { Count: > 0 } ? metadata : null;
        _streams = assignments
            .Where(a => !customerOnly || a.Role == SpeakerRole.Customer)
            .Select(a => new SpeakerStream(a, new StreamKey(tenant, callId, a.Speaker), sampleRate == CanonicalRate ? null : new Resampler(sampleRate, CanonicalRate), chunkSamples))
            .ToArray();
    }

    /// <summary>The speakers that survive the policy, i.e. the streams this call publishes.</summary>
    public IEnumerable<ChannelAssignment> Streams => _streams.Select(s => s.Assignment);

    public string CallId => _callId;

    public string Tenant => _tenant;

    /// <summary>Accepts interleaved samples (any length that is a multiple of the channel count).</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<float> interleaved, CancellationToken cancellationToken)
    {
        if (_completed) throw new InvalidOperationException($"call {_callId}: audio after the end of the call");
        if (interleaved.Length % _channels != 0)
            throw new ArgumentException($"call {_callId}: {interleaved.Length} samples is not a whole number of {_channels}-channel frames", nameof(interleaved));
        var frames = interleaved.Length / _channels;
        if (frames == 0 || _streams.Length == 0) return;
        if (_deinterleaved.Length < frames) _deinterleaved = new float[frames];

        foreach (var stream in _streams)
        {
            var mono = _deinterleaved.AsSpan(0, frames);
            ChannelSplitter.Deinterleave(interleaved.Span, _channels, stream.Assignment.Channel, mono);
            Append(stream, mono);
            await PublishReadyAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True when the channel's audio is kept (it has a stream); false when the policy drops it.</summary>
    public bool Keeps(int channel) => Array.Exists(_streams, s => s.Assignment.Channel == channel);

    /// <summary>
    /// Accepts one channel's samples on their own, for protocols that carry each party as a separate track (Twilio's
    /// inbound and outbound media). Audio of a channel the policy drops is ignored.
    /// </summary>
    public async ValueTask WriteChannelAsync(int channel, ReadOnlyMemory<float> mono, CancellationToken cancellationToken)
    {
        if (_completed) throw new InvalidOperationException($"call {_callId}: audio after the end of the call");
        if (channel < 0 || channel >= _channels)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"call {_callId} has {_channels} channel(s)");
        var stream = Array.Find(_streams, s => s.Assignment.Channel == channel);
        if (stream is null || mono.IsEmpty) return;
        Append(stream, mono.Span);
        await PublishReadyAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    private void Append(SpeakerStream stream, ReadOnlySpan<float> mono)
    {
        if (stream.Resampler is { } resampler)
        {
            var max = resampler.MaxOutputLength(mono.Length);
            if (_resampled.Length < max) _resampled = new float[max];
            var n = resampler.Process(mono, _resampled);
            stream.Append(_resampled.AsSpan(0, n));
        }
        else
        {
            stream.Append(mono);
        }
    }

    private async ValueTask PublishReadyAsync(SpeakerStream stream, CancellationToken cancellationToken)
    {
        while (stream.TryTakeChunk(out var chunk))
            await _sink.PublishAsync(Chunk(stream, chunk, isFinal: false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends every stream of the call: drains the resamplers and publishes each stream's final chunk.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (_completed) return;
        _completed = true;
        foreach (var stream in _streams)
        {
            if (stream.Resampler is { } resampler)
            {
                var tail = new float[resampler.MaxOutputLength(0) + 64];
                stream.Append(tail.AsSpan(0, resampler.Flush(tail)));
            }
            await PublishReadyAsync(stream, cancellationToken).ConfigureAwait(false);
            await _sink.PublishAsync(Chunk(stream, stream.TakeRest(), isFinal: true), cancellationToken).ConfigureAwait(false);
        }
    }

    private AudioChunk Chunk(SpeakerStream stream, float[] samples, bool isFinal)
    {
        var chunk = new AudioChunk(stream.Key, stream.Assignment.Role, stream.NextSequence, stream.EmittedSamples,
            CanonicalRate, samples, isFinal, _time.GetUtcNow(), stream.NextSequence == 0 ? _metadata : null);
        stream.NextSequence++;
        stream.EmittedSamples += samples.Length;
        return chunk;
    }

    private sealed class SpeakerStream(ChannelAssignment assignment, StreamKey key, Resampler? resampler, int chunkSamples)
    {
        private readonly float[] _pending = new float[chunkSamples];
        private int _count;
        private readonly Queue<float[]> _ready = new();

        public ChannelAssignment Assignment { get; } = assignment;
        public StreamKey Key { get; } = key;
        public Resampler? Resampler { get; } = resampler;
        public long NextSequence { get; set; }
        public long EmittedSamples { get; set; }

        public void Append(ReadOnlySpan<float> samples)
        {
            while (!samples.IsEmpty)
            {
                var n = Math.Min(samples.Length, _pending.Length - _count);
                samples[..n].CopyTo(_pending.AsSpan(_count));
                _count += n;
                samples = samples[n..];
                if (_count == _pending.Length)
                {
                    _ready.Enqueue(_pending.ToArray());
                    _count = 0;
                }
            }
        }

        public bool TryTakeChunk(out float[] chunk) => _ready.TryDequeue(out chunk!);

        public float[] TakeRest()
        {
            var rest = _pending.AsSpan(0, _count).ToArray();
            _count = 0;
            return rest;
        }
    }
}
