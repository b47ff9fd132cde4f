using System.Buffers;
using Streaming.Contracts;
using Streaming.Features;

namespace Streaming.Inference;

/// <summary>What a cut window needs next.</summary>
internal enum WindowKind
{
    /// <summary>Has speech energy: classified by the model.</summary>
    Speech,

    /// <summary>No speech energy (or too little audio): reported as silence, no model call.</summary>
    Silence,

    /// <summary>The stream ended right after an already reported window: that window again, now marked final.</summary>
    Repeat,
}

/// <summary>A cut window waiting for <see cref="ClassifierEngine.Flush"/>; speech windows own a slot of the engine's batch buffer.</summary>
internal struct PendingWindow
{
    public StreamClassifier Stream;
    public long Index;
    public long StartFrame;
    public int RealFrames;
    public WindowKind Kind;
    public bool IsFinal;
    public DateTimeOffset EventTime;
    public int Slot;
}

/// <summary>
/// One stream's windowing state. Frames arrive in order with stream-wide indices; window k covers frames
/// [k·hop, k·hop + window). The stream keeps only the frames a later window can still need (at most about
/// one window), in the model's input features, with a voiced flag per frame (and the speech gate's measurements of it, so
/// overlapping windows do not measure a frame again), and for a model that reads prosody the frames' prosody values. A window
/// is copied into the engine's batch buffer, transposed to the model's [bands, time] layout, the moment it is cut; its prosodic
/// statistics are computed from its real (unpadded) frames then.
/// </summary>
internal sealed class StreamClassifier : IDisposable
{
    private readonly WindowShape _shape;
    private float[] _rows;     // [capacity, InputBands], row 0 is frame _bufferStart
    private byte[] _voiced;    // 1 where the frame has speech energy
    private float[] _prosody = []; // [capacity, Prosody.Values], for a model that reads prosody
    private FrameStatistics[] _measured = []; // the speech gate's per-frame measurements, when it rejects non-speech
    private float[] _shapeBuffer = [], _previousShape = []; // the last frame's spectral shape, for the next frame's correlation
    private bool _previousVoiced;
    private long _bufferStart;
    private int _bufferCount;
    private long _nextIndex;
    private long _lastWindowStart = -1;

    private readonly int _voteHorizon;
    private readonly List<(long Sequence, long FirstFrame)> _accepted = []; // messages from the oldest one a restart needs

    public StreamClassifier(WindowShape shape, StreamKey key, SpeakerRole role, long firstFrame, int votingWindows, VotingMode voting, int voteHorizon)
    {
        _shape = shape;
        _voteHorizon = voteHorizon;
        Key = key;
        Role = role;
        _rows = ArrayPool<float>.Shared.Rent(shape.WindowFrames * shape.InputBands);
        _voiced = ArrayPool<byte>.Shared.Rent(shape.WindowFrames);
        if (shape.Prosody) _prosody = ArrayPool<float>.Shared.Rent(shape.WindowFrames * Prosody.Values);
        if (shape.RejectNonSpeech)
        {
            _measured = ArrayPool<FrameStatistics>.Shared.Rent(shape.WindowFrames);
            _shapeBuffer = new float[shape.MelBands];
            _previousShape = new float[shape.MelBands];
        }
        Votes = new VoteTracker(shape.Contract.Labels.Count, votingWindows, voting, voteHorizon);
        StartAt(firstFrame);
    }

    public StreamKey Key { get; }
    public SpeakerRole Role { get; }
    public long LastSequence { get; set; } = -1;

    /// <summary>Event time of the last message accepted.</summary>
    public DateTimeOffset LastEventTime { get; set; }

    /// <summary>Stream-wide index of the next frame expected.</summary>
    public long FramesReceived { get; private set; }

    /// <summary>The final message has been accepted; no further frames are taken.</summary>
    public bool Closed { get; private set; }

    public int PendingCount { get; set; }
    public EmotionWindow? LastReported { get; set; }
    public VoteTracker Votes { get; }

    private long NextStart => _nextIndex * _shape.HopFrames;

    /// <summary>Notes an accepted message, for <see cref="ResumeSequence"/>.</summary>
    public void Accepted(long sequence, long firstFrame) => _accepted.Add((sequence, firstFrame));

    /// <summary>
    /// The oldest accepted message a fresh classifier must start from to continue this stream exactly: it must cut every
    /// window whose vote the next window can still count (the vote horizon back from the next window, and at least the
    /// last window, which a final repeat or the tail decision refers to) and hold the last window's worth of frames for the
    /// tail window an end of stream may cut. Older entries are dropped: they are never needed again.
    /// </summary>
    public long ResumeSequence()
    {
        var votesFrom = (_nextIndex - Math.Max(_voteHorizon, 2) + 1) * _shape.HopFrames;
        var needed = Math.Max(0, Math.Min(votesFrom, FramesReceived - _shape.WindowFrames));
        var keep = 0;
        while (keep + 1 < _accepted.Count && _accepted[keep + 1].FirstFrame <= needed) keep++;
        _accepted.RemoveRange(0, keep);
        return _accepted[0].Sequence;
    }

    /// <summary>
    /// Appends <paramref name="count"/> log-mel rows starting at stream frame <paramref name="firstFrame"/> (and their prosody rows,
    /// for a model that reads them) and cuts every window they complete. Rows before <see cref="FramesReceived"/> were seen
    /// already and are skipped.
    /// </summary>
    public void Append(ReadOnlySpan<float> logMel, ReadOnlySpan<float> prosody, long firstFrame, int count, DateTimeOffset eventTime, WindowBatcher batcher)
    {
        var end = firstFrame + count;
        if (end <= FramesReceived) return;
        if (firstFrame > FramesReceived) StartAt(firstFrame); // frames never arrived: windows spanning the gap are not cut

        var skip = (int)(FramesReceived - firstFrame);
        var fresh = (int)(end - FramesReceived);
        MakeRoom(fresh);
        var bands = _shape.InputBands;
        var mel = _shape.MelBands;
        var source = logMel.Slice(skip * mel, fresh * mel);
        _shape.Projection.Project(source, _rows.AsSpan(_bufferCount * bands, fresh * bands));
        if (_shape.Prosody) prosody.Slice(skip * Prosody.Values, fresh * Prosody.Values).CopyTo(_prosody.AsSpan(_bufferCount * Prosody.Values));
        if (_shape.RejectNonSpeech) Measure(fresh);
        else
            for (var i = 0; i < fresh; i++)
                _voiced[_bufferCount + i] = _shape.Gate.IsVoiced(source.Slice(i * mel, mel)) ? (byte)1 : (byte)0;
        _bufferCount += fresh;
        FramesReceived = end;

        while (NextStart + _shape.WindowFrames <= FramesReceived)
        {
            Cut(NextStart, _shape.WindowFrames, isFinal: false, eventTime, batcher);
            _nextIndex++;
        }
    }

    /// <summary>
    /// Ends the stream: cuts a window for an uncovered tail (or pads a stream shorter than one window), or
    /// marks the last window final. Exactly one window of the stream ends up final.
    /// </summary>
    public void Finish(DateTimeOffset eventTime, WindowBatcher batcher)
    {
        Closed = true;
        var end = FramesReceived;
        if (_lastWindowStart < 0)
        {
            // Nothing cut yet: the stream (since its first frame or a gap) is shorter than a window.
            var start = Math.Max(NextStart, _bufferStart);
            var real = (int)Math.Max(0, end - start);
            if (real >= _shape.MinClassifiedFrames) Cut(start, real, isFinal: true, eventTime, batcher);
            else batcher.Add(new PendingWindow { Stream = this, Index = _nextIndex, StartFrame = start, RealFrames = real, Kind = WindowKind.Silence, IsFinal = true, EventTime = eventTime, Slot = -1 });
            return;
        }

        var uncovered = end - (_lastWindowStart + _shape.WindowFrames);
        if (uncovered >= _shape.MinClassifiedFrames)
        {
            // Aligned to the end of the stream so it is a whole window whenever the buffer holds one.
            var start = Math.Max(end - _shape.WindowFrames, _bufferStart);
            Cut(start, (int)(end - start), isFinal: true, eventTime, batcher);
        }
        else if (PendingCount > 0)
        {
            batcher.MarkLastFinal(this);
        }
        else
        {
            batcher.Add(new PendingWindow { Stream = this, Index = _nextIndex - 1, Kind = WindowKind.Repeat, IsFinal = true, EventTime = eventTime, Slot = -1 });
        }
    }

    private void Cut(long start, int real, bool isFinal, DateTimeOffset eventTime, WindowBatcher batcher)
    {
        var offset = (int)(start - _bufferStart);
        var voiced = 0;
        foreach (var v in _voiced.AsSpan(offset, real)) voiced += v;
        var speech = real > 0 && voiced >= _shape.MinVoicedFraction * real
            && (!_shape.RejectNonSpeech || _shape.Gate.IsSpeechWindow(_rows.AsSpan(offset * _shape.InputBands, real * _shape.InputBands), _measured.AsSpan(offset, real), real));

        var window = new PendingWindow
        {
            Stream = this,
            Index = _nextIndex,
            StartFrame = start,
            RealFrames = real,
            Kind = speech ? WindowKind.Speech : WindowKind.Silence,
            IsFinal = isFinal,
            EventTime = eventTime,
            Slot = -1,
        };
        if (speech)
        {
            window.Slot = batcher.AllocateSlot();
            WriteInput(offset, real, batcher.Input(window.Slot));
            if (_shape.Prosody) ProsodyStatistics.Of(_prosody.AsSpan(offset * Prosody.Values, real * Prosody.Values), real, batcher.Prosody(window.Slot));
        }
        _lastWindowStart = start;
        batcher.Add(window);
    }

    /// <summary>
    /// The speech gate's measurements of the <paramref name="fresh"/> rows just appended (log-mel rows: the gate rejects non-speech
    /// only for log-mel models), taken once per frame however many overlapping windows the frame is in.
    /// </summary>
    private void Measure(int fresh)
    {
        var bands = _shape.InputBands;
        for (var i = _bufferCount; i < _bufferCount + fresh; i++)
        {
            var measured = _shape.Gate.Measure(_rows.AsSpan(i * bands, bands), _previousVoiced ? _previousShape : default, _shapeBuffer);
            _measured[i] = measured;
            _previousVoiced = measured.Level >= _shape.Gate.ThresholdDbfs;
            _voiced[i] = _previousVoiced ? (byte)1 : (byte)0;
            if (_previousVoiced) (_shapeBuffer, _previousShape) = (_previousShape, _shapeBuffer);
        }
    }

    /// <summary>Writes frames [offset, offset + real) of the buffer as [bands, WindowFrames], padding the rest with the floor row.</summary>
    private void WriteInput(int offset, int real, Span<float> dst)
    {
        var bands = _shape.InputBands;
        var frames = _shape.WindowFrames;
        var pad = _shape.Projection.PadRow;
        // Transpose [time, bands] → [bands, time]; a frame-major inner loop would scatter writes across the whole window.
        for (var b = 0; b < bands; b++)
        {
            var row = dst.Slice(b * frames, frames);
            for (var t = 0; t < real; t++) row[t] = _rows[(offset + t) * bands + b];
            row[real..].Fill(pad[b]);
        }
    }

    /// <summary>Drops frames no later window needs, then makes sure <paramref name="fresh"/> more rows fit.</summary>
    private void MakeRoom(int fresh)
    {
        var bands = _shape.InputBands;
        // A regular window still to come needs frames from NextStart; the tail window at the end needs the last WindowFrames.
        var keepFrom = Math.Clamp(Math.Min(NextStart, FramesReceived - _shape.WindowFrames), _bufferStart, FramesReceived);
        var drop = (int)(keepFrom - _bufferStart);
        if (drop > 0)
        {
            var kept = _bufferCount - drop;
            DropFront(_rows, drop, kept, bands);
            DropFront(_voiced, drop, kept, 1);
            if (_shape.Prosody) DropFront(_prosody, drop, kept, Prosody.Values);
            if (_shape.RejectNonSpeech) DropFront(_measured, drop, kept, 1);
            _bufferCount = kept;
            _bufferStart = keepFrom;
        }

        var needed = _bufferCount + fresh;
        Reserve(ref _rows, needed, _bufferCount, bands);
        Reserve(ref _voiced, needed, _bufferCount, 1);
        if (_shape.Prosody) Reserve(ref _prosody, needed, _bufferCount, Prosody.Values);
        if (_shape.RejectNonSpeech) Reserve(ref _measured, needed, _bufferCount, 1);
    }

    /// <summary>Moves frames [drop, drop + kept) of a per-frame array (<paramref name="width"/> values a frame) to its start.</summary>
    private static void DropFront<T>(T[] frames, int drop, int kept, int width) => frames.AsSpan(drop * width, kept * width).CopyTo(frames);

    /// <summary>Makes a pooled per-frame array hold <paramref name="count"/> frames, keeping its first <paramref name="kept"/>.</summary>
    private static void Reserve<T>(ref T[] frames, int count, int kept, int width)
    {
        if (count * width <= frames.Length) return;
        var bigger = ArrayPool<T>.Shared.Rent(count * width);
        frames.AsSpan(0, kept * width).CopyTo(bigger);
        ArrayPool<T>.Shared.Return(frames);
        frames = bigger;
    }

    /// <summary>Starts (or restarts after a gap) at <paramref name="frame"/>: the first window is the first one starting there or later.</summary>
    private void StartAt(long frame)
    {
        _bufferStart = frame;
        _bufferCount = 0;
        FramesReceived = frame;
        _nextIndex = Math.Max(_nextIndex, (frame + _shape.HopFrames - 1) / _shape.HopFrames);
        _lastWindowStart = -1;
        _previousVoiced = false; // the frame before a gap is not this frame's neighbour
    }

    public void Dispose()
    {
        ArrayPool<float>.Shared.Return(_rows);
        ArrayPool<byte>.Shared.Return(_voiced);
        if (_shape.Prosody) ArrayPool<float>.Shared.Return(_prosody);
        if (_shape.RejectNonSpeech) ArrayPool<FrameStatistics>.Shared.Return(_measured);
        _rows = [];
        _prosody = [];
        _voiced = [];
        _measured = [];
    }
}
