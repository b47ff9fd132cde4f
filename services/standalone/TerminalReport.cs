using System.Globalization;
using System.Text;
using Spectre.Console;
using Streaming.Timelines;

namespace Streaming.Standalone;

/// <summary>Draws each speaker's timeline as a coloured band, one character per time slice, with a legend and totals.</summary>
public static class TerminalReport
{
    public static void Write(IAnsiConsole console, CallReport report, IReadOnlyList<string> labels)
    {
        var width = Math.Clamp(console.Profile.Width - 16, 20, 100);
        var duration = Math.Max(report.DurationSeconds, report.Speakers.SelectMany(s => s.Segments).Select(s => s.End).DefaultIfEmpty(0).Max());
        var secondsPerColumn = duration / width;

        console.Write(new Rule($"[bold]{Markup.Escape(report.CallId)}[/]  {Format(duration)}  model {Markup.Escape(report.Model.Name)} {Markup.Escape(report.Model.Version)}").LeftJustified());
        foreach (var speaker in report.Speakers)
        {
            var band = new StringBuilder();
            for (var column = 0; column < width; column++)
            {
                var t = (column + 0.5) * secondsPerColumn;
                var segment = speaker.Segments.FirstOrDefault(s => s.Start <= t && t < s.End);
                band.Append(segment is null || segment.Label == "silence"
                    ? "[grey]·[/]"
                    : $"[{Palette.Hex(segment.Label)}]█[/]");
            }
            console.MarkupLine($"{Markup.Escape(speaker.Speaker),-12} {band}");
        }
        console.MarkupLine($"{"",-12} [grey]0s{new string(' ', Math.Max(1, width - 2 - Format(duration).Length))}{Format(duration)}[/]");
        console.MarkupLine("Legend: " + string.Join("  ", labels.Select(l => $"[{Palette.Hex(l)}]█[/] {l}")) + "  [grey]·[/] silence");

        var table = new Table().Border(TableBorder.Simple).AddColumn("speaker").AddColumn("speech").AddColumn("dominant");
        foreach (var label in labels) table.AddColumn(new TableColumn(label).RightAligned());
        table.AddColumn("longest angry");
        foreach (var speaker in report.Speakers)
        {
            if (!report.Summary.Speakers.TryGetValue(speaker.Speaker, out var stats)) continue;
            var row = new List<string> { Markup.Escape(speaker.Speaker), Format(stats.SpeechSeconds), stats.DominantEmotion ?? "-" };
            row.AddRange(labels.Select(l => stats.EmotionShare.TryGetValue(l, out var share) ? share.ToString("P0", CultureInfo.InvariantCulture) : "-"));
            row.Add(stats.LongestAngry is { } angry ? $"{Format(angry.Seconds)} at {Format(angry.Start)}" : "-");
            table.AddRow(row.ToArray());
        }
        console.Write(table);
    }

    private static string Format(double seconds) =>
        seconds >= 60
            ? $"{(int)(seconds / 60)}m{(int)(seconds % 60):00}s"
            : seconds.ToString("0.#", CultureInfo.InvariantCulture) + "s";
}
