using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;
using ParquetSharp;
using Streaming.Contracts;
using Streaming.Dashboard;

namespace Streaming.Tests.Supervision;

/// <summary><c>GET /api/export</c>: a request over <c>Export:MaxWindows</c> gets 413 naming the limit; a narrower range works, with the call's agent and queue.</summary>
public sealed class ExportEndpointTests
{
    private static readonly Dictionary<string, string?> TenWindows = new() { ["Export:MaxWindows"] = "10" };

    /// <summary>A finished call of tenant A: six customer windows, its stream ended.</summary>
    private static async Task StoreFinishedCallAsync(DashboardHost host, string callId)
    {
        foreach (var window in Windows.Sequence("nnaann", call: callId, tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
        await host.Store.CompleteStreamAsync(new StreamKey("tenant-a", callId, "customer"), default);
    }

    [Fact]
    public async Task Export_OverTheWindowLimit_Gets413NamingTheLimit_ANarrowerRangeIsExported()
    {
        await using var host = await DashboardHost.StartAsync(TenWindows);
        await host.Store.SetMetadataAsync("tenant-a", "early", new Dictionary<string, string> { ["agentId"] = "agent-7", ["queue"] = "billing" }, default);
        await StoreFinishedCallAsync(host, "early");
        var early = (await host.Store.ListCallsAsync("tenant-a", default)).Single(c => c.CallId == "early").LastUpdate;
        await Task.Delay(20); // the later call's last update comes strictly after the first's
        await StoreFinishedCallAsync(host, "late");
        // a live call is never exported, so it does not count
        foreach (var window in Windows.Sequence("nnnnnnnn", call: "live", tenant: "tenant-a")) await host.Store.AppendAsync(window, default);
        using var client = host.Client(DashboardHost.KeyA);

        using var tooMany = await client.GetAsync("/api/export");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooMany.StatusCode);
        var detail = JsonDocument.Parse(await tooMany.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Equal("the export holds more than 10 windows, the limit (Export:MaxWindows): narrow the range with from and to "
            + "(ISO-8601, on each call's last update), or run the export command, which writes one file per call", detail);

        var to = Uri.EscapeDataString(early.ToString("O", CultureInfo.InvariantCulture));
        using var narrower = await client.GetAsync($"/api/export?to={to}");

        Assert.Equal(HttpStatusCode.OK, narrower.StatusCode);
        var path = Path.Combine(Path.GetTempPath(), $"export-{Guid.NewGuid():N}.parquet");
        try
        {
            await File.WriteAllBytesAsync(path, await narrower.Content.ReadAsByteArrayAsync());
            var (_, rows) = ArchivedWindow.Read(path);
            Assert.Equal(6, rows.Count);
            Assert.All(rows, r => Assert.Equal(("tenant-a", "early"), (r.Tenant, r.CallId)));
            // The call's agent and queue from its metadata, in every row (read by name with Arrow's C++ reader, as the rows above).
            using var file = new ParquetFileReader(path);
            using var group = file.RowGroup(0);
            var names = Enumerable.Range(0, file.FileMetaData.Schema.NumColumns).Select(i => file.FileMetaData.Schema.Column(i).Name).ToList();
            Assert.Equal(["agent-7"], group.Column(names.IndexOf("agent_id")).LogicalReader<string?>().ReadAll(6).Distinct());
            Assert.Equal(["billing"], group.Column(names.IndexOf("queue")).LogicalReader<string?>().ReadAll(6).Distinct());
        }
        finally
        {
            File.Delete(path);
        }
        var from = Uri.EscapeDataString(early.AddSeconds(1).ToString("O", CultureInfo.InvariantCulture));
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync($"/api/export?from={from}&to={to}")).StatusCode);
    }

    [Fact]
    public async Task Export_LimitOfZero_StopsTheHostAtStartNamingTheSetting()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => DashboardHost.StartAsync(new Dictionary<string, string?> { ["Export:MaxWindows"] = "0" }));

        Assert.Contains("MaxWindows", error.Message);
    }
}
