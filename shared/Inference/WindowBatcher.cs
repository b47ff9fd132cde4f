namespace Streaming.Inference;

/// <summary>
/// Windows cut from all streams since the last flush, in the order they were cut, and the batch buffer their
/// model inputs were copied into: speech windows occupy consecutive slots, so one model call takes a
/// contiguous slice for up to MaxBatch windows of any streams (with their prosodic statistics, for a model that reads them).
/// Buffers grow to the largest flush and are reused.
/// </summary>
internal sealed class WindowBatcher(WindowShape shape, int initialSlots)
{
    private readonly List<PendingWindow> _pending = [];
    private readonly int _labels = shape.Contract.Labels.Count;
    private float[] _input = new float[initialSlots * shape.WindowFloats];
    private float[] _probabilities = new float[initialSlots * shape.Contract.Labels.Count];
    private readonly int _statistics = shape.Prosody ? Streaming.Features.ProsodyStatistics.Count : 0;
    private float[] _prosody = new float[initialSlots * (shape.Prosody ? Streaming.Features.ProsodyStatistics.Count : 0)];
    private int _slots;

    public int Count => _pending.Count;

    public List<PendingWindow> Pending => _pending;

    public void Add(PendingWindow window)
    {
        _pending.Add(window);
        window.Stream.PendingCount++;
    }

    /// <summary>Reserves the next batch slot; the caller writes the window's model input into <see cref="Input"/>.</summary>
    public int AllocateSlot()
    {
        if ((_slots + 1) * shape.WindowFloats > _input.Length)
        {
            Array.Resize(ref _input, Math.Max(1, _slots * 2) * shape.WindowFloats);
            Array.Resize(ref _probabilities, Math.Max(1, _slots * 2) * _labels);
            Array.Resize(ref _prosody, Math.Max(1, _slots * 2) * _statistics);
        }
        return _slots++;
    }

    public Span<float> Input(int slot) => _input.AsSpan(slot * shape.WindowFloats, shape.WindowFloats);

    /// <summary>The slot's prosodic statistics, written with its input (empty for a model without prosody).</summary>
    public Span<float> Prosody(int slot) => _prosody.AsSpan(slot * _statistics, _statistics);

    public ReadOnlySpan<float> Probabilities(int slot) => _probabilities.AsSpan(slot * _labels, _labels);

    /// <summary>The stream's most recent pending window becomes its final one.</summary>
    public void MarkLastFinal(StreamClassifier stream)
    {
        var pending = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_pending);
        for (var i = pending.Length - 1; i >= 0; i--)
        {
            if (!ReferenceEquals(pending[i].Stream, stream)) continue;
            pending[i].IsFinal = true;
            return;
        }
        throw new InvalidOperationException($"stream {stream.Key} has no pending window to mark final");
    }

    /// <summary>Classifies every speech window in calls of at most <paramref name="maxBatch"/> windows.</summary>
    public void Classify(IEmotionModel model, int maxBatch)
    {
        for (var first = 0; first < _slots; first += maxBatch)
        {
            var count = Math.Min(maxBatch, _slots - first);
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            model.Run(_input.AsSpan(first * shape.WindowFloats, count * shape.WindowFloats), count, shape.WindowFrames,
                _probabilities.AsSpan(first * _labels, count * _labels), _prosody.AsSpan(first * _statistics, count * _statistics));
            InferenceInstrumentation.DurationPerWindow.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds / count);
            InferenceInstrumentation.BatchSize.Record(count);
        }
    }

    /// <summary>Forgets the pending windows of the streams <paramref name="drop"/> selects; their slots are classified but unused.</summary>
    public void RemoveAll(Predicate<PendingWindow> drop) => _pending.RemoveAll(drop);

    public void Clear()
    {
        _pending.Clear();
        _slots = 0;
    }
}
