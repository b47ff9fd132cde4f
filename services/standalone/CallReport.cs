using System.Text.Json;
using System.Text.Json.Serialization;
using Streaming.Pipeline;
using Streaming.Timelines;

namespace Streaming.Standalone;

/// <summary>
/// The documented `--json` shape of one analyzed call (docs/json-schema.md). Kept separate from the
/// timeline records so the file format only changes on purpose.
/// </summary>
public sealed record CallReport(
    ModelInfo Model,
    string File,
    string CallId,
    double DurationSeconds,
    IReadOnlyList<SpeakerTimeline> Speakers,
    CallSummary Summary)
{
    public static CallReport From(CallResult result) => new(
        new ModelInfo(result.Timeline!.ModelName, result.Timeline.ModelVersion),
        result.File.Path,
        result.Timeline.CallId,
        Math.Round(result.AudioSeconds, 3),
        result.Timeline.Speakers,
        result.Timeline.Summary);

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>One call: the call object; several: an array of them.</summary>
    public static void Write(string path, IReadOnlyList<CallReport> reports)
    {
        using var stream = System.IO.File.Create(path);
        if (reports.Count == 1) JsonSerializer.Serialize(stream, reports[0], Json);
        else JsonSerializer.Serialize(stream, reports, Json);
    }
}

public sealed record ModelInfo(string Name, string Version);
