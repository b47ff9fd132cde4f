using Streaming.Contracts;

namespace Streaming.Inference;

/// <summary>
/// Classifies many speakers' streams with one model. A pipeline stage calls <see cref="Accept"/> for each
/// message of a batch, then <see cref="Flush"/> once: every window the batch completed, across all streams,
/// is classified in as few model calls as MaxBatch allows, then voted per stream and returned in order.
/// <para>
/// Delivery is at-least-once: a message whose sequence a stream has already seen, or any message of a stream
/// that has ended, is ignored. Window indices come from stream-wide frame indices, so a restarted engine fed
/// from the middle of a stream numbers its windows exactly as the previous one did. Not thread-safe: one
/// engine per stage; the model behind it may be shared.
/// </para>
/// </summary>
public sealed class ClassifierEngine : IDisposable
{
    private readonly IEmotionModel _model;
    private readonly ClassifierOptions _options;
    private readonly WindowShape _shape;
    private readonly WindowBatcher _batcher;
    private readonly string[] _labels;
    private readonly Dictionary<StreamKey, StreamClassifier> _streams = [];
    private readonly HashSet<StreamKey> _closed = [];
    private readonly Queue<StreamKey> _closedOrder = new();

    public ClassifierEngine(IEmotionModel model, ClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _options = options ?? new ClassifierOptions();
        _options.Validate();
        _shape = new WindowShape(model.Contract, _options);
        _batcher = new WindowBatcher(_shape, _options.MaxBatch);
        _labels = [.. model.Contract.Labels];
    }

    public ModelContract Contract => _model.Contract;

    /// <summary>Streams with state held (started, not yet ended and flushed).</summary>
    public int ActiveStreams => _streams.Count;

    /// <summary>Windows cut and waiting for <see cref="Flush"/>.</summary>
    public int PendingWindows => _batcher.Count;

    /// <summary>
    /// Takes one message of log-mel frames. Returns false when it is ignored as a redelivery. A message with
    /// <see cref="FeatureFrames.IsFinal"/> ends its stream. Throws <see cref="InvalidDataException"/> naming the
    /// stream and sequence when the message contradicts the model (band count, prosody missing for a model that reads it) or
    /// itself (array length).
    /// </summary>
    public bool Accept(FeatureFrames frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        Validate(frames);
        if (_closed.Contains(frames.Stream)) return false;
        if (!_streams.TryGetValue(frames.Stream, out var stream))
        {
            stream = new StreamClassifier(_shape, frames.Stream, frames.Role, frames.FirstFrame, _options.VotingWindows, _options.Voting, _options.VoteHorizonWindows);
            _streams.Add(frames.Stream, stream);
        }
        if (stream.Closed || frames.Sequence <= stream.LastSequence) return false;

        stream.LastSequence = frames.Sequence;
        stream.LastEventTime = frames.EventTime;
        stream.Accepted(frames.Sequence, frames.FirstFrame);
        stream.Append(frames.LogMel.AsSpan(0, frames.FrameCount * frames.MelBands), frames.Prosody, frames.FirstFrame, frames.FrameCount, frames.EventTime, _batcher);
        if (frames.IsFinal) stream.Finish(frames.EventTime, _batcher);
        return true;
    }

    /// <summary>
    /// Classifies all pending windows and appends them to <paramref name="results"/>: per stream in index order,
    /// streams interleaved in the order their windows were cut. Ended streams are released. If the model throws,
    /// the windows stay pending and the next flush retries them.
    /// </summary>
    public void Flush(ICollection<EmotionWindow> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (_batcher.Count == 0) return;
        _batcher.Classify(_model, _options.MaxBatch);

        foreach (var pending in _batcher.Pending)
        {
            var stream = pending.Stream;
            var window = pending.Kind switch
            {
                WindowKind.Speech => Classified(pending),
                WindowKind.Repeat when stream.LastReported is { } last => last with { IsFinal = true },
                _ => Silent(pending),
            };
            stream.LastReported = window;
            stream.PendingCount--;
            results.Add(window);
            if (window.IsFinal) Release(stream);
        }
        _batcher.Clear();
    }

    /// <summary>
    /// The sequence of the oldest message of <paramref name="stream"/> that an engine without its state must be fed, in
    /// order with everything after it, to produce exactly the windows this one will produce from now on (the window buffer
    /// and the vote horizon, <see cref="ClassifierOptions.VoteHorizonWindows"/>); null when no state of it is held.
    /// Call between batches (after <see cref="Flush"/>).
    /// </summary>
    public long? ResumeSequence(StreamKey stream) =>
        _streams.TryGetValue(stream, out var state) && !state.Closed ? state.ResumeSequence() : null;

    /// <summary>
    /// Ends a stream whose final message never came, as a final message without frames would have: its tail window (or its last
    /// window again) is cut, marked final, and returned by the next <see cref="Flush"/>. False when no open stream of that key is held.
    /// </summary>
    public bool EndStream(StreamKey stream)
    {
        if (!_streams.TryGetValue(stream, out var state) || state.Closed) return false;
        state.Finish(state.LastEventTime, _batcher);
        return true;
    }

    /// <summary>Forgets every stream of a call (this instance no longer owns it) with its pending windows; returns how many streams.</summary>
    public int DropCall(string callId)
    {
        var dropped = _streams.Values.Where(s => s.Key.CallId == callId).ToList();
        if (dropped.Count == 0) return 0;
        _batcher.RemoveAll(p => p.Stream.Key.CallId == callId);
        foreach (var stream in dropped)
        {
            _streams.Remove(stream.Key);
            stream.Dispose();
        }
        return dropped.Count;
    }

    public void Dispose()
    {
        foreach (var stream in _streams.Values) stream.Dispose();
        _streams.Clear();
        _batcher.Clear();
    }

    private EmotionWindow Classified(in PendingWindow pending)
    {
        var probabilities = _batcher.Probabilities(pending.Slot);
        var own = VoteTracker.ArgMax(probabilities);
        var voted = pending.Stream.Votes.Add(pending.Index, probabilities);
        return new EmotionWindow(pending.Stream.Key, pending.Stream.Role, pending.Index,
            Seconds(pending.StartFrame), Seconds(pending.StartFrame + pending.RealFrames),
            _labels[own], _labels[voted], probabilities[own], probabilities.ToArray(), pending.IsFinal, pending.EventTime);
    }

    /// <summary>Silence carries no prediction: confidence 0, no probabilities, and it does not vote.</summary>
    private EmotionWindow Silent(in PendingWindow pending) =>
        new(pending.Stream.Key, pending.Stream.Role, pending.Index,
            Seconds(pending.StartFrame), Seconds(pending.StartFrame + pending.RealFrames),
            EmotionWindow.Silence, EmotionWindow.Silence, 0f, [], pending.IsFinal, pending.EventTime);

    private double Seconds(long frame) => frame * _shape.SecondsPerFrame;

    private void Release(StreamClassifier stream)
    {
        _streams.Remove(stream.Key);
        stream.Dispose();
        if (_options.ClosedStreamMemory == 0) return;
        if (_closed.Add(stream.Key)) _closedOrder.Enqueue(stream.Key);
        while (_closedOrder.Count > _options.ClosedStreamMemory) _closed.Remove(_closedOrder.Dequeue());
    }

    private void Validate(FeatureFrames frames)
    {
        if (frames.MelBands != _shape.MelBands)
            Reject(frames, $"{frames.MelBands} mel bands, model '{Contract.Name}' expects {_shape.MelBands}");
        if (frames.FrameCount < 0 || frames.FirstFrame < 0)
            Reject(frames, $"negative frame count ({frames.FrameCount}) or first frame ({frames.FirstFrame})");
        var values = (long)frames.FrameCount * frames.MelBands;
        if (frames.LogMel is null || frames.LogMel.Length < values)
            Reject(frames, $"{frames.FrameCount} frames of {frames.MelBands} bands need {values} values, got {frames.LogMel?.Length ?? 0}");
        if (_shape.Prosody && (frames.Prosody?.Length ?? 0) < (long)frames.FrameCount * Streaming.Features.Prosody.Values)
            Reject(frames, $"model '{Contract.Name}' reads prosody: {frames.FrameCount} frames need {(long)frames.FrameCount * Streaming.Features.Prosody.Values} prosody values, got {frames.Prosody?.Length.ToString() ?? "none"} (a featurizer running a model without prosody?)");
    }

    private static void Reject(FeatureFrames frames, string problem) =>
        throw new InvalidDataException($"feature frames {frames.Stream} #{frames.Sequence}: {problem}");
}
