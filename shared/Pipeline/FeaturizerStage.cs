using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Pipeline;

/// <summary>
/// Turns each speaker's audio chunks into log-mel frames with one streaming extractor per stream, rounded to half precision
/// (<see cref="FramePrecision"/>): what the classifier gets is then the same whether the frames pass through a channel
/// (embedded) or Kafka (distributed, where they travel as two bytes a value).
/// Per-stream state is small (the extractor's overlap buffer), created on a stream's first chunk and
/// dropped at its final chunk or when the host loses ownership of the call.
/// With <paramref name="prosody"/> (the model reads it: <see cref="ModelContract.Prosody"/>) each message also carries the same
/// frames' <see cref="Prosody"/> values; their pitch search looks 3 frames further ahead than a log-mel frame, so log-mel frames
/// wait for their prosody (30 ms) and the stream's last frames go out with its final message.
/// </summary>
public sealed class FeaturizerStage(FeatureConfig config, IMessageSink<FeatureFrames> sink, bool prosody = false) : IResumableStage<AudioChunk>
{
    private readonly Dictionary<StreamKey, StreamState> _streams = [];
    private float[] _frames = [];

    public FeatureConfig Config { get; } = config;

    public int ActiveStreams => _streams.Count;

    public async ValueTask HandleAsync(IReadOnlyList<AudioChunk> batch, CancellationToken cancellationToken)
    {
        foreach (var chunk in batch)
        {
            if (chunk.SampleRate != Config.SampleRate)
                throw new MessageRejectedException($"stream {chunk.Stream} chunk {chunk.Sequence}: sample rate {chunk.SampleRate} Hz, the featurizer runs at {Config.SampleRate} Hz");

            if (!_streams.TryGetValue(chunk.Stream, out var state))
            {
                state = StreamState.StartAt(Config, prosody, chunk);
                _streams[chunk.Stream] = state;
            }
            else if (chunk.Sequence < state.NextSequence)
            {
                continue; // already featurized: a redelivery after a restart or rebalance
            }
            else if (chunk.Sequence > state.NextSequence)
            {
                // Chunks before this one never arrived (lost upstream). Going on as if they had not existed would shift the rest
                // of the stream in time; instead the stream goes on from this chunk's position, as an instance that took it over
                // here would: later frames keep their stream-wide indices, and the classifier sees the gap (it cuts no window
                // across missing frames), so the loss shows as missing windows, not as wrong ones.
                state = StreamState.StartAt(Config, prosody, chunk);
                _streams[chunk.Stream] = state;
            }

            var samples = chunk.Samples.AsSpan(Math.Min(state.SkipSamples, chunk.Samples.Length));
            state.SkipSamples = Math.Max(0, state.SkipSamples - chunk.Samples.Length);
            var max = state.Extractor.MaxFrames(samples.Length) * Config.MelBands;
            if (_frames.Length < max) _frames = new float[max];
            var count = state.Extractor.Process(samples, _frames);
            float[] logMel;
            float[]? frameProsody = null;
            if (state.Prosody is { } aligned) (logMel, frameProsody, count) = aligned.Take(_frames.AsSpan(0, count * Config.MelBands), samples, chunk.IsFinal);
            else logMel = _frames.AsSpan(0, count * Config.MelBands).ToArray();
            FramePrecision.Round(logMel);
            if (frameProsody is not null) FramePrecision.Round(frameProsody);

            var message = new FeatureFrames(chunk.Stream, chunk.Role, chunk.Sequence, state.NextFrame, count, Config.MelBands,
                logMel, chunk.IsFinal, chunk.EventTime, chunk.Metadata, frameProsody);
            state.NextFrame += count;
            state.NextSequence = chunk.Sequence + 1;
            state.Last = (chunk.Role, chunk.EventTime);
            state.Chunks.Add((chunk.Sequence, chunk.StartSample));
            if (chunk.IsFinal) _streams.Remove(chunk.Stream);
            await sink.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        }
    }

    public StreamKey StreamOf(AudioChunk message) => message.Stream;

    /// <summary>
    /// The chunk holding the first sample of the next frame: a fresh extractor started there (at the next frame boundary)
    /// computes every later frame exactly as this one will. Older chunks are forgotten.
    /// </summary>
    public long? ResumeSequence(StreamKey stream)
    {
        if (!_streams.TryGetValue(stream, out var state)) return null;
        var nextSample = state.NextFrame * Config.HopLength;
        var keep = 0;
        while (keep + 1 < state.Chunks.Count && state.Chunks[keep + 1].StartSample <= nextSample) keep++;
        state.Chunks.RemoveRange(0, keep);
        return state.Chunks[0].Sequence;
    }

    /// <summary>
    /// Publishes a final frames message after the stream's last one, as a final chunk without samples would have (empty, or with
    /// the frames still waiting for their prosody): the classifier then ends the stream exactly as it would have at that point
    /// (its tail window, marked final).
    /// </summary>
    public async ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken)
    {
        if (!_streams.Remove(stream, out var state)) return;
        var (logMel, frameProsody, count) = state.Prosody is { } aligned ? aligned.Take([], [], isFinal: true) : ([], null, 0);
        FramePrecision.Round(logMel);
        if (frameProsody is not null) FramePrecision.Round(frameProsody);
        var end = new FeatureFrames(stream, state.Last.Role, state.NextSequence, state.NextFrame, count, Config.MelBands, logMel, true, state.Last.EventTime,
            Prosody: frameProsody);
        await sink.PublishAsync(end, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets a call's streams (the host no longer owns its partition).</summary>
    public void DropCall(string callId)
    {
        foreach (var key in _streams.Keys.Where(k => k.CallId == callId).ToList()) _streams.Remove(key);
    }

    private sealed class StreamState(LogMelExtractor extractor, AlignedProsody? prosody, long nextSequence, long nextFrame, int skipSamples)
    {
        public LogMelExtractor Extractor { get; } = extractor;
        public AlignedProsody? Prosody { get; } = prosody;
        public long NextSequence { get; set; } = nextSequence;
        public long NextFrame { get; set; } = nextFrame;
        public int SkipSamples { get; set; } = skipSamples;

        /// <summary>Role and event time of the last chunk: what an end published for the stream (<see cref="EndStreamAsync"/>) carries.</summary>
        public (SpeakerRole Role, DateTimeOffset EventTime) Last { get; set; }

        /// <summary>Sequence and first sample of the chunks from the oldest one a restart needs (<see cref="ResumeSequence"/>).</summary>
        public List<(long Sequence, long StartSample)> Chunks { get; } = [];

        /// <summary>
        /// A stream normally starts at sample 0. When the first chunk seen is mid-stream (this instance took
        /// the call over), the extractor starts at the next frame boundary so frame indices stay stream-wide.
        /// </summary>
        public static StreamState StartAt(FeatureConfig config, bool prosody, AudioChunk first)
        {
            var firstFrame = (first.StartSample + config.HopLength - 1) / config.HopLength;
            var skip = (int)(firstFrame * config.HopLength - first.StartSample);
            return new StreamState(new LogMelExtractor(config), prosody ? new AlignedProsody(config) : null, first.Sequence, firstFrame, skip);
        }
    }

    /// <summary>
    /// Holds a stream's log-mel frames until its <see cref="ProsodyTracker"/> has their prosody, so every message carries both
    /// for the same frames. Both count frames of the same samples from the same first one, so at the end of the stream they agree.
    /// </summary>
    private sealed class AlignedProsody(FeatureConfig config)
    {
        private readonly ProsodyTracker _tracker = new(config);
        private float[] _logMel = [], _prosody = [];
        private int _logMelFrames, _prosodyFrames;

        /// <summary>Adds a chunk's log-mel frames and samples; returns the frames that now have both, and forgets them.</summary>
        public (float[] LogMel, float[] Prosody, int Count) Take(ReadOnlySpan<float> logMel, ReadOnlySpan<float> samples, bool isFinal)
        {
            int bands = config.MelBands, values = Streaming.Features.Prosody.Values;
            Append(ref _logMel, ref _logMelFrames, logMel, bands);
            // the tracker writes straight behind the frames still held: room for what Append and Finish write together
            var room = (_prosodyFrames + _tracker.MaxFrames(samples.Length)) * values;
            if (room > _prosody.Length) Array.Resize(ref _prosody, room);
            _prosodyFrames += _tracker.Append(samples, _prosody.AsSpan(_prosodyFrames * values));
            if (isFinal) _prosodyFrames += _tracker.Finish(_prosody.AsSpan(_prosodyFrames * values));
            if (isFinal && _logMelFrames != _prosodyFrames)
                throw new InvalidOperationException($"the stream ended with {_logMelFrames} log-mel frames and {_prosodyFrames} prosody frames unpublished");
            var ready = Math.Min(_logMelFrames, _prosodyFrames);
            return (Remove(_logMel, ref _logMelFrames, ready, bands), Remove(_prosody, ref _prosodyFrames, ready, values), ready);
        }

        private static void Append(ref float[] buffer, ref int frames, ReadOnlySpan<float> rows, int width)
        {
            if ((frames * width) + rows.Length > buffer.Length) Array.Resize(ref buffer, (frames * width) + rows.Length);
            rows.CopyTo(buffer.AsSpan(frames * width));
            frames += rows.Length / width;
        }

        private static float[] Remove(float[] buffer, ref int frames, int count, int width)
        {
            var taken = buffer.AsSpan(0, count * width).ToArray();
            buffer.AsSpan(count * width, (frames - count) * width).CopyTo(buffer);
            frames -= count;
            return taken;
        }
    }
}
