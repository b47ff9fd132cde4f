using System.Numerics.Tensors;

namespace Streaming.Inference;

/// <summary>
/// Votes over the last K speech windows of one stream that lie within the last H windows (the horizon). Silence
/// windows do not vote and do not reset the history, so a pause inside an angry stretch does not restart it; but a
/// vote older than the horizon expires, so the voted label of window n depends on windows n-H+1..n only. That bound
/// is what makes a takeover exact: an instance that starts H windows back reproduces every later vote.
/// </summary>
public sealed class VoteTracker
{
    private readonly int _labels;
    private readonly int _horizon;
    private readonly VotingMode _mode;
    private readonly int[] _recent;          // ring of label indices, newest at (_next - 1)
    private readonly long[] _indices;        // window index of each vote, same slots
    private readonly float[] _recentProbs;   // ring of probability rows, same slots
    private readonly float[] _score;
    private int _next;
    private int _count;

    /// <param name="windows">K, the speech windows that vote</param>
    /// <param name="horizon">H, how many windows back (by index, counting silence) a vote still counts</param>
    public VoteTracker(int labels, int windows, VotingMode mode, int horizon)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(labels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(horizon, 1);
        _labels = labels;
        _horizon = horizon;
        _mode = mode;
        _recent = new int[windows];
        _indices = new long[windows];
        _recentProbs = new float[windows * labels];
        _score = new float[labels];
    }

    /// <summary>Adds speech window <paramref name="index"/> (its probabilities in label order) and returns the voted label index.</summary>
    public int Add(long index, ReadOnlySpan<float> probabilities)
    {
        if (probabilities.Length != _labels)
            throw new ArgumentException($"expected {_labels} probabilities, got {probabilities.Length}", nameof(probabilities));

        _recent[_next] = ArgMax(probabilities);
        _indices[_next] = index;
        probabilities.CopyTo(_recentProbs.AsSpan(_next * _labels, _labels));
        _next = (_next + 1) % _recent.Length;
        _count = Math.Min(_count + 1, _recent.Length);

        // Votes newer than the horizon: the ring runs newest to oldest, so the first expired one ends them.
        var voting = 0;
        while (voting < _count && _indices[Slot(voting)] > index - _horizon) voting++;

        Array.Clear(_score);
        for (var i = 0; i < voting; i++)
        {
            var slot = Slot(i);
            if (_mode == VotingMode.Majority)
                _score[_recent[slot]] += 1f;
            else
                for (var l = 0; l < _labels; l++) _score[l] += _recentProbs[slot * _labels + l];
        }

        var best = TensorPrimitives.Max<float>(_score);
        // Ties go to the tied label that the most recent window chose: walk from the newest window back.
        for (var i = 0; i < voting; i++)
        {
            var label = _recent[Slot(i)];
            if (_score[label] == best) return label;
        }
        return ArgMax(_score); // averaging can crown a label no single window chose
    }

    /// <summary>Ring slot of the i-th newest window (0 = newest).</summary>
    private int Slot(int i) => ((_next - 1 - i) % _recent.Length + _recent.Length) % _recent.Length;

    /// <summary>Index of the first largest value.</summary>
    internal static int ArgMax(ReadOnlySpan<float> values) => TensorPrimitives.IndexOfMax(values);
}
