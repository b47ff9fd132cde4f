using ScottPlot;

namespace Streaming.Training.Evaluation;

/// <summary>Draws reliability diagrams (accuracy against mean confidence per bin, with the diagonal of perfect calibration) to a PNG.</summary>
internal static class ReliabilityPlot
{
    public static void Save(string path, string title, params (string Name, IReadOnlyList<ConfidenceBin> Bins)[] curves)
    {
        var plot = new Plot();
        var diagonal = plot.Add.Line(0, 0, 1, 1);
        diagonal.LinePattern = LinePattern.Dashed;
        diagonal.Color = Colors.Gray;
        diagonal.LegendText = "perfectly calibrated";
        foreach (var (name, bins) in curves)
        {
            var used = bins.Where(b => b.Count > 0).ToList();
            var scatter = plot.Add.Scatter(used.Select(b => b.Confidence).ToArray(), used.Select(b => b.Accuracy).ToArray());
            scatter.LegendText = $"{name} (ECE {Calibration.ExpectedCalibrationError(bins):P1})";
            scatter.MarkerSize = 8;
            scatter.LineWidth = 0;
        }
        plot.Axes.SetLimits(0, 1, 0, 1);
        plot.Axes.Bottom.Label.Text = "mean confidence of the window's label";
        plot.Axes.Left.Label.Text = "accuracy";
        plot.Title(title);
        plot.ShowLegend(Alignment.LowerRight);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(path, 640, 560);
    }
}
