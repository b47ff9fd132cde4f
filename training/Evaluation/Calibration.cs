namespace Streaming.Training.Evaluation;

/// <summary>One confidence bin of a reliability diagram: windows whose top probability fell in it, their mean confidence and accuracy.</summary>
internal sealed record ConfidenceBin(
    [property: System.Text.Json.Serialization.JsonPropertyName("from")] double From,
    [property: System.Text.Json.Serialization.JsonPropertyName("to")] double To,
    [property: System.Text.Json.Serialization.JsonPropertyName("count")] int Count,
    [property: System.Text.Json.Serialization.JsonPropertyName("confidence")] double Confidence,
    [property: System.Text.Json.Serialization.JsonPropertyName("accuracy")] double Accuracy);

/// <summary>
/// Confidence calibration of window probabilities against their file's label: expected calibration error over
/// equal-width confidence bins, and temperature scaling (softmax(logits / T)) fitted by the negative log-likelihood.
/// Probabilities stand in for logits: ln p differs from the logits by a constant per window, which the softmax removes.
/// </summary>
internal static class Calibration
{
    public const int Bins = 10;

    /// <summary>Probabilities after dividing the logits by <paramref name="temperature"/>.</summary>
    public static float[] Scale(float[] probabilities, double temperature)
    {
        var z = probabilities.Select(p => Math.Log(Math.Max(p, 1e-12)) / temperature).ToArray();
        double max = z.Max(), sum = z.Sum(v => Math.Exp(v - max));
        return z.Select(v => (float)(Math.Exp(v - max) / sum)).ToArray();
    }

    public static double NegativeLogLikelihood(IReadOnlyList<(float[] P, int Label)> windows, double temperature) =>
        windows.Average(w => -Math.Log(Math.Max(Scale(w.P, temperature)[w.Label], 1e-12)));

    /// <summary>The temperature in [0.2, 10] with the lowest negative log-likelihood (golden-section search on ln T).</summary>
    public static double FitTemperature(IReadOnlyList<(float[] P, int Label)> windows)
    {
        if (windows.Count == 0) throw new ArgumentException("no windows to fit a temperature on");
        double a = Math.Log(0.2), b = Math.Log(10), ratio = (Math.Sqrt(5) - 1) / 2;
        double c = b - ratio * (b - a), d = a + ratio * (b - a);
        double fc = NegativeLogLikelihood(windows, Math.Exp(c)), fd = NegativeLogLikelihood(windows, Math.Exp(d));
        while (b - a > 1e-4)
        {
            if (fc < fd) { b = d; d = c; fd = fc; c = b - ratio * (b - a); fc = NegativeLogLikelihood(windows, Math.Exp(c)); }
            else { a = c; c = d; fc = fd; d = a + ratio * (b - a); fd = NegativeLogLikelihood(windows, Math.Exp(d)); }
        }
        return Math.Exp((a + b) / 2);
    }

    /// <summary>Reliability bins of the windows' top probability.</summary>
    public static List<ConfidenceBin> Reliability(IReadOnlyList<(float[] P, int Label)> windows)
    {
        var bins = new List<ConfidenceBin>();
        for (int k = 0; k < Bins; k++)
        {
            double from = (double)k / Bins, to = (double)(k + 1) / Bins;
            var inBin = windows.Where(w => w.P.Max() > from && w.P.Max() <= to || k == 0 && w.P.Max() == 0).ToList();
            bins.Add(new ConfidenceBin(from, to, inBin.Count,
                inBin.Count == 0 ? 0 : inBin.Average(w => (double)w.P.Max()),
                inBin.Count == 0 ? 0 : inBin.Average(w => Metrics.ArgMax(w.P) == w.Label ? 1.0 : 0.0)));
        }
        return bins;
    }

    /// <summary>Expected calibration error: the count-weighted mean gap between confidence and accuracy over the bins.</summary>
    public static double ExpectedCalibrationError(IReadOnlyList<ConfidenceBin> bins)
    {
        int total = bins.Sum(b => b.Count);
        return total == 0 ? 0 : bins.Sum(b => b.Count * Math.Abs(b.Confidence - b.Accuracy)) / total;
    }
}
