using System.Numerics.Tensors;

namespace Streaming.Inference;

/// <summary>
/// Votes over the last K speech windows of one stream. Silence windows do not vote and do not reset
/// the history, so a pause inside an angry stretch does not restart it.
/// </summary>
public sealed class VoteTracker
{
    private readonly int _labels;
    private readonly VotingMode _mode;
    private readonly int[] _recent;          // ring of label indices, newest at (_next - 1)
    private readonly float[] _recentProbs;   // ring of probability rows, same slots
    private readonly float[] _score;
    private int _next;
    private int _count;

    public VoteTracker(int labels, int windows, VotingMode mode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(labels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        _labels = labels;
        _mode = mode;
        _recent = new int[windows];
        _recentProbs = new float[windows * labels];
        _score = new float[labels];
    }

    /// <summary>Adds a speech window (its probabilities in label order) and returns the voted label index.</summary>
    public int Add(ReadOnlySpan<float> probabilities)
    {
        if (probabilities.Length != _labels)
            throw new ArgumentException($"expected {_labels} probabilities, got {probabilities.Length}", nameof(probabilities));

        _recent[_next] = ArgMax(probabilities);
        probabilities.CopyTo(_recentProbs.AsSpan(_next * _labels, _labels));
        _next = (_next + 1) % _recent.Length;
        _count = Math.Min(_count + 1, _recent.Length);

        Array.Clear(_score);
        for (var i = 0; i < _count; i++)
        {
            var slot = Slot(i);
            if (_mode == VotingMode.Majority)
                _score[_recent[slot]] += 1f;
            else
                for (var l = 0; l < _labels; l++) _score[l] += _recentProbs[slot * _labels + l];
        }

        var best = TensorPrimitives.Max<float>(_score);
        // Ties go to the tied label that the most recent window chose: walk from the newest window back.
        for (var i = 0; i < _count; i++)
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
