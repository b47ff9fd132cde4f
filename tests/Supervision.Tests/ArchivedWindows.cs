using System.Globalization;
using System.Text.Json;
using ParquetSharp;
using Streaming.Archive;

namespace Streaming.Tests.Supervision;

/// <summary>
/// One window as an analytics job sees it, in a form that compares by value: from an archive file read with Apache Arrow's C++
/// Parquet reader (ParquetSharp, not Parquet.Net that wrote it), or from the timeline API's JSON. Probabilities are written
/// out as <c>label=value</c> in the file's label order, so a swapped label order is a difference too.
/// </summary>
internal sealed record ArchivedWindow(string Tenant, string CallId, string Speaker, string Role, long Index, double Start, double End, string Label,
    string VotedLabel, float Confidence, string Probabilities)
{
    /// <summary>Every row of the file, sorted, and the file's labels (its <see cref="ParquetArchive.LabelsKey"/> metadata).</summary>
    public static (string[] Labels, List<ArchivedWindow> Rows) Read(string path)
    {
        using var file = new ParquetFileReader(path);
        var labels = file.FileMetaData.KeyValueMetadata[ParquetArchive.LabelsKey].Split(',');
        var rows = new List<ArchivedWindow>();
        for (var g = 0; g < file.FileMetaData.NumRowGroups; g++)
        {
            using var group = file.RowGroup(g);
            var n = (int)group.MetaData.NumRows;
            var tenants = group.Column(0).LogicalReader<string>().ReadAll(n);
            var calls = group.Column(1).LogicalReader<string>().ReadAll(n);
            var speakers = group.Column(2).LogicalReader<string>().ReadAll(n);
            var roles = group.Column(3).LogicalReader<string>().ReadAll(n);
            var indices = group.Column(4).LogicalReader<long>().ReadAll(n);
            var starts = group.Column(5).LogicalReader<double>().ReadAll(n);
            var ends = group.Column(6).LogicalReader<double>().ReadAll(n);
            var own = group.Column(7).LogicalReader<string>().ReadAll(n);
            var voted = group.Column(8).LogicalReader<string>().ReadAll(n);
            var confidence = group.Column(9).LogicalReader<float>().ReadAll(n);
            var probabilities = group.Column(10).LogicalReader<float[]>().ReadAll(n);
            for (var i = 0; i < n; i++)
                rows.Add(new ArchivedWindow(tenants[i], calls[i], speakers[i], roles[i], indices[i], starts[i], ends[i], own[i], voted[i], confidence[i],
                    Format(labels, probabilities[i].Select((p, l) => (labels[l], p)))));
        }
        return (labels, Sorted(rows));
    }

    /// <summary>The windows of a call as <c>GET /api/calls/{id}</c> answered it, probabilities in <paramref name="labels"/>' order.</summary>
    public static List<ArchivedWindow> FromApi(string tenant, JsonElement call, IReadOnlyList<string> labels) => Sorted(
        call.GetProperty("speakers").EnumerateArray().SelectMany(s => s.GetProperty("windows").EnumerateArray().Select(w =>
            new ArchivedWindow(tenant, call.GetProperty("callId").GetString()!, s.GetProperty("speaker").GetString()!,
                s.GetProperty("role").GetString()!.ToLowerInvariant(), w.GetProperty("index").GetInt64(), w.GetProperty("start").GetDouble(),
                w.GetProperty("end").GetDouble(), w.GetProperty("label").GetString()!, w.GetProperty("votedLabel").GetString()!,
                w.GetProperty("confidence").GetSingle(),
                Format(labels, w.GetProperty("probabilities").EnumerateObject().Select(p => (p.Name, p.Value.GetSingle())))))));

    private static string Format(IReadOnlyList<string> labels, IEnumerable<(string Label, float Value)> probabilities)
    {
        var byLabel = probabilities.ToDictionary(p => p.Label, p => p.Value);
        return string.Join(' ', labels.Where(byLabel.ContainsKey).Select(l => $"{l}={byLabel[l].ToString("R", CultureInfo.InvariantCulture)}"))
            + (byLabel.Keys.Except(labels).Any() ? " +unknown labels" : "");
    }

    private static List<ArchivedWindow> Sorted(IEnumerable<ArchivedWindow> rows) =>
        [.. rows.OrderBy(r => r.Tenant, StringComparer.Ordinal).ThenBy(r => r.CallId, StringComparer.Ordinal).ThenBy(r => r.Speaker, StringComparer.Ordinal)
            .ThenBy(r => r.Index)];
}
