using System.Globalization;
using System.Net;
using System.Text;
using Streaming.Timelines;

namespace Streaming.Standalone;

/// <summary>
/// A self-contained HTML report (inline SVG, no scripts or external files): per call, one row per speaker
/// with the voted segments as a coloured band and each class probability over time as a line.
/// </summary>
public static class HtmlReport
{
    private const int PlotWidth = 900;
    private const int BandHeight = 18;
    private const int ChartHeight = 90;
    private const int Left = 90;

    public static void Write(string path, IReadOnlyList<CallReport> reports, IReadOnlyList<string> labels)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Emotion timelines</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#222}h2{margin-top:32px}")
            .Append("table{border-collapse:collapse;margin-top:8px}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}")
            .Append("td:first-child,th:first-child{text-align:left}.legend span{margin-right:14px}.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}")
            .Append("</style></head><body><h1>Emotion timelines</h1><p class=\"legend\">");
        foreach (var label in labels.Append("silence"))
            html.Append($"<span><i class=\"sw\" style=\"background:{Palette.Hex(label)}\"></i>{Encode(label)}</span>");
        html.Append("</p>");

        foreach (var report in reports) AppendCall(html, report, labels);
        html.Append("</body></html>");
        File.WriteAllText(path, html.ToString());
    }

    private static void AppendCall(StringBuilder html, CallReport report, IReadOnlyList<string> labels)
    {
        var duration = Math.Max(report.DurationSeconds, report.Speakers.SelectMany(s => s.Segments).Select(s => s.End).DefaultIfEmpty(1).Max());
        html.Append($"<h2>{Encode(report.CallId)}</h2><p>{Encode(report.File)} · {F(duration)} s · model {Encode(report.Model.Name)} {Encode(report.Model.Version)}</p>");

        var rowHeight = BandHeight + ChartHeight + 28;
        var height = rowHeight * report.Speakers.Count + 24;
        html.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Left + PlotWidth + 10}\" height=\"{height}\" font-size=\"12\">");
        for (var i = 0; i < report.Speakers.Count; i++)
            AppendSpeaker(html, report.Speakers[i], labels, duration, i * rowHeight);
        AppendTimeAxis(html, duration, rowHeight * report.Speakers.Count);
        html.Append("</svg>");
        AppendSummary(html, report, labels);
    }

    private static void AppendSpeaker(StringBuilder html, SpeakerTimeline speaker, IReadOnlyList<string> labels, double duration, int top)
    {
        double X(double seconds) => Left + seconds / duration * PlotWidth;
        html.Append($"<text x=\"0\" y=\"{top + 14}\" font-weight=\"bold\">{Encode(speaker.Speaker)}</text>");
        foreach (var s in speaker.Segments)
        {
            html.Append($"<rect x=\"{F(X(s.Start))}\" y=\"{top}\" width=\"{F(Math.Max(0.5, X(s.End) - X(s.Start)))}\" height=\"{BandHeight}\" fill=\"{Palette.Hex(s.Label)}\">")
                .Append($"<title>{Encode(s.Label)} {F(s.Start)}-{F(s.End)} s, confidence {F(s.Confidence)}</title></rect>");
        }

        var chartTop = top + BandHeight + 6;
        html.Append($"<rect x=\"{Left}\" y=\"{chartTop}\" width=\"{PlotWidth}\" height=\"{ChartHeight}\" fill=\"none\" stroke=\"#ccc\"/>")
            .Append($"<text x=\"{Left - 6}\" y=\"{chartTop + 10}\" text-anchor=\"end\" fill=\"#888\">p=1</text>")
            .Append($"<text x=\"{Left - 6}\" y=\"{chartTop + ChartHeight}\" text-anchor=\"end\" fill=\"#888\">0</text>");
        foreach (var label in labels)
        {
            // Silence windows carry no probabilities: the line breaks there instead of dropping to zero.
            var run = new List<string>();
            foreach (var w in speaker.Windows)
            {
                if (!w.Probabilities.TryGetValue(label, out var p))
                {
                    AppendLine(html, run, label);
                    continue;
                }
                run.Add($"{F(X((w.Start + w.End) / 2))},{F(chartTop + (1 - p) * ChartHeight)}");
            }
            AppendLine(html, run, label);
        }
    }

    private static void AppendLine(StringBuilder html, List<string> points, string label)
    {
        if (points.Count > 0)
            html.Append($"<polyline fill=\"none\" stroke-width=\"1.6\" stroke=\"{Palette.Hex(label)}\" points=\"{string.Join(' ', points)}\"><title>{Encode(label)}</title></polyline>");
        points.Clear();
    }

    private static void AppendTimeAxis(StringBuilder html, double duration, int top)
    {
        var step = duration switch { <= 30 => 5, <= 120 => 10, <= 600 => 60, _ => 300 };
        for (var t = 0; t <= duration; t += step)
        {
            var x = Left + t / duration * PlotWidth;
            html.Append($"<line x1=\"{F(x)}\" x2=\"{F(x)}\" y1=\"{top}\" y2=\"{top + 5}\" stroke=\"#888\"/><text x=\"{F(x)}\" y=\"{top + 17}\" text-anchor=\"middle\" fill=\"#555\">{t}s</text>");
        }
    }

    private static void AppendSummary(StringBuilder html, CallReport report, IReadOnlyList<string> labels)
    {
        html.Append("<table><tr><th>speaker</th><th>speech s</th><th>dominant</th>");
        foreach (var label in labels) html.Append($"<th>{Encode(label)}</th>");
        html.Append("<th>longest angry</th></tr>");
        foreach (var (speaker, stats) in report.Summary.Speakers)
        {
            html.Append($"<tr><td>{Encode(speaker)}</td><td>{F(stats.SpeechSeconds)}</td><td>{Encode(stats.DominantEmotion ?? "-")}</td>");
            foreach (var label in labels)
                html.Append($"<td>{(stats.EmotionShare.TryGetValue(label, out var share) ? share.ToString("P0", CultureInfo.InvariantCulture) : "-")}</td>");
            html.Append($"<td>{(stats.LongestAngry is { } a ? $"{F(a.Seconds)} s at {F(a.Start)} s" : "-")}</td></tr>");
        }
        html.Append("</table>");
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string F(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}
