using System.Globalization;
using ScottPlot;

namespace Streaming.Benchmarks;

/// <summary>
/// <c>bench soak-plot DIR</c>: draws the soak of <c>bench/distributed.sh</c> (SOAK_MINUTES) from DIR/soak.csv and
/// DIR/soak-rounds.csv into DIR/soak-memory.png (resident memory and GC heap per service) and DIR/soak-flow.png (the
/// consumer lag summed over the stages, each round's p99 latency), against minutes since the soak began. Flat is the target.
/// </summary>
public static class SoakPlotCommand
{
    public static int Run(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: bench soak-plot DIR   (DIR holds soak.csv and soak-rounds.csv)");
            return 2;
        }
        var samples = Rows(Path.Combine(args[0], "soak.csv"));
        var rounds = Rows(Path.Combine(args[0], "soak-rounds.csv")).Where(r => r[2].Length > 0 && r[3].Length > 0).ToList();
        if (samples.Count == 0)
        {
            Console.Error.WriteLine($"soak-plot: {args[0]}/soak.csv has no samples");
            return 1;
        }
        var start = samples.Min(r => double.Parse(r[0], CultureInfo.InvariantCulture));
        double Minutes(string[] r) => (double.Parse(r[0], CultureInfo.InvariantCulture) - start) / 60;

        var memory = new Plot();
        foreach (var (service, i) in samples.Select(r => r[1]).Distinct().Select((s, i) => (s, i)))
        {
            var rows = samples.Where(r => r[1] == service).ToList();
            var color = Palette[i % Palette.Length];
            var rss = memory.Add.Scatter(rows.Select(Minutes).ToArray(), rows.Select(r => double.Parse(r[2], CultureInfo.InvariantCulture)).ToArray(), color);
            rss.LegendText = $"{service} resident";
            rss.MarkerSize = 0;
            var heap = memory.Add.Scatter(rows.Select(Minutes).ToArray(), rows.Select(r => double.Parse(r[3], CultureInfo.InvariantCulture)).ToArray(), color);
            heap.LegendText = $"{service} GC heap";
            heap.MarkerSize = 0;
            heap.LinePattern = LinePattern.Dashed;
        }
        memory.Axes.Bottom.Label.Text = "minutes";
        memory.Axes.Left.Label.Text = "MiB";
        memory.Title("Memory per service");
        memory.ShowLegend(Alignment.MiddleRight);

        var flow = new Plot();
        var lag = samples.GroupBy(r => r[0]).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        var lagLine = flow.Add.Scatter(lag.Select(g => Minutes(g.First())).ToArray(), lag.Select(g => g.Sum(r => double.Parse(r[4], CultureInfo.InvariantCulture))).ToArray(), Palette[0]);
        lagLine.LegendText = "consumer lag, all stages (messages)";
        lagLine.MarkerSize = 0;
        var p99 = flow.Add.Scatter(rounds.Select(Minutes).ToArray(), rounds.Select(r => double.Parse(r[3], CultureInfo.InvariantCulture)).ToArray(), Palette[1]);
        p99.LegendText = "p99 latency of the round (ms)";
        p99.MarkerSize = 6;
        flow.Axes.Bottom.Label.Text = "minutes";
        flow.Title("Consumer lag and latency");
        flow.ShowLegend(Alignment.UpperLeft);

        memory.SavePng(Path.Combine(args[0], "soak-memory.png"), 900, 500);
        flow.SavePng(Path.Combine(args[0], "soak-flow.png"), 900, 400);
        Console.WriteLine($"soak-plot: {samples.Count} samples, {rounds.Count} rounds over {samples.Max(Minutes):0.0} minutes -> soak-memory.png, soak-flow.png in {args[0]}");
        return 0;
    }

    // Okabe-Ito: distinguishable with the common colour-vision deficiencies
    private static readonly Color[] Palette = [Color.FromHex("#0072B2"), Color.FromHex("#D55E00"), Color.FromHex("#009E73"), Color.FromHex("#CC79A7"), Color.FromHex("#E69F00")];

    private static List<string[]> Rows(string path) =>
        File.Exists(path) ? [.. File.ReadLines(path).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))] : [];
}
