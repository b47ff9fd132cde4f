using ScottPlot;

namespace Streaming.Training.Evaluation;

/// <summary>Draws a confusion matrix (rows = true label, row-normalised colour, counts as text) to a PNG.</summary>
internal static class ConfusionPlot
{
    public static void Save(string path, IReadOnlyList<string> labels, int[][] confusion, string title)
    {
        int n = labels.Count;
        var share = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            double total = Math.Max(1, confusion[r].Sum());
            for (int c = 0; c < n; c++) share[r, c] = confusion[r][c] / total;
        }
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(share);
        // white for 0 to dark blue for 1; the heatmap draws data row 0 at the top, text is placed to match
        heatmap.Colormap = new ScottPlot.Colormaps.CustomInterpolated([Colors.White, Color.FromHex("#08306b")]);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++)
            {
                var text = plot.Add.Text($"{confusion[r][c]}\n{share[r, c]:P0}", c, n - 1 - r);
                text.Alignment = Alignment.MiddleCenter;
                text.LabelFontSize = 16;
                text.LabelFontColor = share[r, c] > 0.5 ? Colors.White : Colors.Black;
            }
        var positions = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, [.. labels]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels.Reverse().ToArray());
        plot.Axes.Bottom.Label.Text = "predicted";
        plot.Axes.Left.Label.Text = "true";
        plot.Title(title);
        plot.Add.ColorBar(heatmap);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(path, 640, 560);
    }
}
