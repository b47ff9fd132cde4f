namespace Streaming.Training.Evaluation;

/// <summary>
/// Classification scores over utterances: UA (unweighted accuracy, the mean per-class recall over the
/// classes present), WA (plain accuracy), macro-F1, per-class recall and the confusion matrix
/// (rows = true label, columns = predicted).
/// </summary>
internal sealed record Metrics(double Ua, double Wa, double MacroF1, double[] Recall, int[][] Confusion, int Count)
{
    public static Metrics Compute(IReadOnlyList<int> truth, IReadOnlyList<int> predicted, int labels)
    {
        if (truth.Count != predicted.Count) throw new ArgumentException("truth and predictions differ in length");
        var confusion = new int[labels][];
        for (int i = 0; i < labels; i++) confusion[i] = new int[labels];
        for (int i = 0; i < truth.Count; i++) confusion[truth[i]][predicted[i]]++;

        var recall = new double[labels];
        double recallSum = 0, f1Sum = 0;
        int present = 0, correct = 0;
        for (int c = 0; c < labels; c++)
        {
            int support = confusion[c].Sum();
            int predictedAs = 0;
            for (int r = 0; r < labels; r++) predictedAs += confusion[r][c];
            int tp = confusion[c][c];
            correct += tp;
            recall[c] = support == 0 ? double.NaN : (double)tp / support;
            if (support == 0) continue;
            present++;
            recallSum += recall[c];
            double precision = predictedAs == 0 ? 0 : (double)tp / predictedAs;
            f1Sum += precision + recall[c] == 0 ? 0 : 2 * precision * recall[c] / (precision + recall[c]);
        }
        return new Metrics(
            present == 0 ? double.NaN : recallSum / present,
            truth.Count == 0 ? double.NaN : (double)correct / truth.Count,
            present == 0 ? double.NaN : f1Sum / present,
            recall, confusion, truth.Count);
    }

    public static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++) if (values[i] > values[best]) best = i;
        return best;
    }
}
