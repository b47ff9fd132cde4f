using System.Text.Json.Serialization;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;
using ParquetSharp;
using Streaming.Archive;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Tests.Supervision;

/// <summary>The archive written by Parquet.Net, read back by Apache Arrow's C++ Parquet reader (ParquetSharp): an independent implementation.</summary>
public sealed class ArchiveTests : IDisposable
{
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "archive-" + Guid.NewGuid().ToString("N"));

    private static CallWindows Call(string callId)
    {
        var customer = Windows.Sequence("nnaa-a", call: callId).ToList();
        var agent = Windows.Sequence("nnn", call: callId).Select(w => w with { Stream = w.Stream with { Speaker = "agent" }, Role = SpeakerRole.Agent }).ToList();
        return new CallWindows(callId, [new SpeakerWindows("agent", SpeakerRole.Agent, agent, true), new SpeakerWindows("customer", SpeakerRole.Customer, customer, true)],
            new Dictionary<string, string> { ["agentId"] = "agent-7", ["queue"] = "billing", ["other"] = "not archived" });
    }

    [Fact]
    public async Task WriteCallAsync_IndependentReaderSeesOneRowPerWindowWithEveryField()
    {
        var archive = new ParquetArchive(_directory, Labels);
        var call = Call("call-1");

        var path = await archive.WriteCallAsync("tenant-a", call, default);

        Assert.Equal(Path.Combine(_directory, "tenant=tenant-a", "date=2026-11-30", "call-1.parquet"), path);
        using var file = new ParquetFileReader(path);
        var meta = file.FileMetaData;
        Assert.Equal("neutral,happy,sad,angry", meta.KeyValueMetadata[ParquetArchive.LabelsKey]);
        Assert.Equal("1", meta.KeyValueMetadata[ParquetArchive.SchemaVersionKey]);
        var columns = Enumerable.Range(0, meta.Schema.NumColumns).Select(i => meta.Schema.Column(i).Path.ToDotString()).ToList();
        Assert.Equal(["tenant", "call_id", "speaker", "role", "window_index", "start_seconds", "end_seconds", "label", "voted_label",
            "confidence", "probabilities.list.element", "event_time", "agent_id", "queue"], columns);

        var expected = call.Speakers.SelectMany(s => s.Windows).ToList();
        Assert.Equal(expected.Count, meta.NumRows);
        using var group = file.RowGroup(0);
        var rows = (int)group.MetaData.NumRows;
        var speakers = group.Column(2).LogicalReader<string>().ReadAll(rows);
        var roles = group.Column(3).LogicalReader<string>().ReadAll(rows);
        var indices = group.Column(4).LogicalReader<long>().ReadAll(rows);
        var starts = group.Column(5).LogicalReader<double>().ReadAll(rows);
        var voted = group.Column(8).LogicalReader<string>().ReadAll(rows);
        var confidence = group.Column(9).LogicalReader<float>().ReadAll(rows);
        var probabilities = group.Column(10).LogicalReader<float[]>().ReadAll(rows);
        var times = group.Column(11).LogicalReader<DateTime>().ReadAll(rows);
        Assert.Equal(["tenant-a"], group.Column(0).LogicalReader<string>().ReadAll(rows).Distinct());
        Assert.Equal(["call-1"], group.Column(1).LogicalReader<string>().ReadAll(rows).Distinct());
        Assert.Equal(["agent-7"], group.Column(12).LogicalReader<string?>().ReadAll(rows).Distinct());
        Assert.Equal(["billing"], group.Column(13).LogicalReader<string?>().ReadAll(rows).Distinct());
        for (var i = 0; i < rows; i++)
        {
            var w = expected[i];
            Assert.Equal((w.Stream.Speaker, w.Role == SpeakerRole.Agent ? "agent" : "customer", w.Index, w.StartSeconds, w.VotedLabel, w.Confidence),
                (speakers[i], roles[i], indices[i], starts[i], voted[i], confidence[i]));
            Assert.Equal(w.Probabilities, probabilities[i]);
            Assert.Equal(w.EventTime.UtcDateTime, times[i]);
        }
    }

    [Fact]
    public async Task WriteCallAsync_Again_ReplacesTheFileAndLeavesNoTemporaryFile()
    {
        var archive = new ParquetArchive(_directory, Labels);
        await archive.WriteCallAsync("t", Call("c"), default);

        var path = await archive.WriteCallAsync("t", Call("c"), default);

        Assert.Equal([path], Directory.GetFiles(_directory, "*", SearchOption.AllDirectories));
        using var file = new ParquetFileReader(path);
        Assert.Equal(9, file.FileMetaData.NumRows);
    }

    [Fact]
    public async Task EraseCallAsync_DeletesItsFileRewritesSharedFilesKeepsOtherTenants()
    {
        var archive = new ParquetArchive(_directory, Labels);
        var own = await archive.WriteCallAsync("t", Call("gone"), default);
        var otherTenant = await archive.WriteCallAsync("u", Call("gone"), default);
        // A file holding two calls (a batch copied into the archive): only the erased call's rows go.
        var shared = Path.Combine(_directory, "tenant=t", "date=2026-11-30", "batch.parquet");
        await using (var file = File.Create(shared))
            await ParquetArchive.WriteAsync([.. ParquetArchive.Rows("t", Call("gone")), .. ParquetArchive.Rows("t", Call("kept"))], Labels, file, default);

        Assert.Equal((18, 2), await archive.EraseCallAsync("t", "gone", default));

        Assert.False(File.Exists(own));
        Assert.True(File.Exists(otherTenant));
        using (var reader = new ParquetFileReader(shared))
        {
            Assert.Equal("neutral,happy,sad,angry", reader.FileMetaData.KeyValueMetadata[ParquetArchive.LabelsKey]);
            using var group = reader.RowGroup(0);
            Assert.Equal(["kept"], group.Column(1).LogicalReader<string>().ReadAll(9).Distinct());
            Assert.Equal(9, reader.FileMetaData.NumRows);
        }
        Assert.Equal(["batch.parquet"], Directory.GetFiles(Path.Combine(_directory, "tenant=t"), "*", SearchOption.AllDirectories).Select(Path.GetFileName));
        Assert.Equal((0, 0), await archive.EraseCallAsync("t", "gone", default));
    }

    [Fact]
    public async Task WriteCallAsync_CallWithoutAgentOrQueue_LeavesThemNull()
    {
        var path = await new ParquetArchive(_directory, Labels).WriteCallAsync("t", Call("c") with { Metadata = null }, default);

        using var file = new ParquetFileReader(path);
        using var group = file.RowGroup(0);
        Assert.Equal([null], group.Column(12).LogicalReader<string?>().ReadAll(9).Distinct());
        Assert.Equal([null], group.Column(13).LogicalReader<string?>().ReadAll(9).Distinct());
    }

    [Fact]
    public async Task EraseCallAsync_FileWrittenBeforeTheAgentAndQueueColumns_IsRewrittenWithoutTheCall()
    {
        var archive = new ParquetArchive(_directory, Labels);
        var path = Path.Combine(_directory, "tenant=t", "date=2026-11-30", "old.parquet");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var old = ParquetArchive.Rows("t", Call("gone")).Concat(ParquetArchive.Rows("t", Call("kept"))).Select(FirstSchemaRow.From).ToList();
        await using (var file = File.Create(path)) await ParquetSerializer.SerializeAsync(old, file);

        Assert.Equal((9, 1), await archive.EraseCallAsync("t", "gone", default));

        using var reader = new ParquetFileReader(path);
        using var group = reader.RowGroup(0);
        Assert.Equal(["kept"], group.Column(1).LogicalReader<string>().ReadAll(9).Distinct());
    }

    /// <summary>A row as the archive wrote it before the <c>agent_id</c> and <c>queue</c> columns (schema version 1 as first released).</summary>
    private sealed class FirstSchemaRow
    {
        [JsonPropertyName("tenant"), ParquetRequired] public string Tenant { get; set; } = "";
        [JsonPropertyName("call_id"), ParquetRequired] public string CallId { get; set; } = "";
        [JsonPropertyName("speaker"), ParquetRequired] public string Speaker { get; set; } = "";
        [JsonPropertyName("role"), ParquetRequired] public string Role { get; set; } = "";
        [JsonPropertyName("window_index")] public long WindowIndex { get; set; }
        [JsonPropertyName("start_seconds")] public double StartSeconds { get; set; }
        [JsonPropertyName("end_seconds")] public double EndSeconds { get; set; }
        [JsonPropertyName("label"), ParquetRequired] public string Label { get; set; } = "";
        [JsonPropertyName("voted_label"), ParquetRequired] public string VotedLabel { get; set; } = "";
        [JsonPropertyName("confidence")] public float Confidence { get; set; }
        [JsonPropertyName("probabilities")] public float[] Probabilities { get; set; } = [];
        [JsonPropertyName("event_time"), ParquetTimestamp(ParquetTimestampResolution.Milliseconds)] public DateTime EventTime { get; set; }

        public static FirstSchemaRow From(WindowRow r) => new()
        {
            Tenant = r.Tenant, CallId = r.CallId, Speaker = r.Speaker, Role = r.Role, WindowIndex = r.WindowIndex, StartSeconds = r.StartSeconds,
            EndSeconds = r.EndSeconds, Label = r.Label, VotedLabel = r.VotedLabel, Confidence = r.Confidence, Probabilities = r.Probabilities, EventTime = r.EventTime,
        };
    }

    [Theory]
    [InlineData("../../etc", "%2E%2E%2F%2E%2E%2Fetc")]
    [InlineData("a b/ü", "a%20b%2F%C3%BC")]
    [InlineData("call_1-x", "call_1-x")]
    public void Encode_KeepsIdsInsideTheirDirectory(string id, string encoded)
    {
        Assert.Equal(encoded, ParquetArchive.Encode(id));
    }

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }
}
