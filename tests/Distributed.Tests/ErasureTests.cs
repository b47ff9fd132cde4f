using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Tests.Distributed;

/// <summary>
/// GDPR erasure on the real Redis: <c>DELETE /api/calls/{callId}</c> of the running aggregator and the <c>erase</c> command remove a
/// call's timeline, index entry, alerts and archive rows, and leave another tenant's call with the same id alone.
/// </summary>
public sealed class ErasureTests : IDisposable
{
    private const string CallId = "erase-me";
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private readonly string _archive = Path.Combine(Path.GetTempPath(), "erasure-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_archive)) Directory.Delete(_archive, recursive: true);
    }

    [Fact]
    public async Task DeleteCall_ApiAndCommand_EraseTimelineIndexAlertsAndArchiveRowsOfThatTenantOnly()
    {
        await using var stack = await DistributedStack.StartAsync(settings: new Dictionary<string, string> { ["Archive:Directory"] = _archive }, services: ["aggregator"]);
        var alerts = new RedisAlertStore(stack.Redis, stack.Namespace + ":", TimeSpan.FromHours(1));
        var archive = new ParquetArchive(_archive, Labels);
        foreach (var tenant in new[] { DistributedStack.Tenant, "other" }) await SeedAsync(stack, alerts, archive, tenant);
        // A Parquet file holding the erased call and another one: only the erased call's rows go.
        var shared = Path.Combine(_archive, "tenant=" + DistributedStack.Tenant, "date=" + Seeded.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), "batch.parquet");
        await using (var file = File.Create(shared))
            await ParquetArchive.WriteAsync([.. ParquetArchive.Rows(DistributedStack.Tenant, Call(CallId, DistributedStack.Tenant)),
                .. ParquetArchive.Rows(DistributedStack.Tenant, Call("kept", DistributedStack.Tenant))], Labels, file, default);

        using var api = Client(stack, DistributedStack.ApiKey);
        using var response = await api.DeleteAsync($"/api/calls/{CallId}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(report.GetProperty("timeline").GetBoolean());
        Assert.Equal(2, report.GetProperty("alerts").GetInt32());
        Assert.Equal((6, 2), (report.GetProperty("archiveRows").GetInt32(), report.GetProperty("archiveFiles").GetInt32()));
        Assert.Contains("Kafka", report.GetProperty("notErased").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync($"/api/calls/{CallId}")).StatusCode);
        Assert.DoesNotContain(CallId, (await stack.Store.ListCallsAsync(DistributedStack.Tenant, default)).Select(c => c.CallId));
        Assert.Empty(await alerts.ListAsync(DistributedStack.Tenant, CallId, default));
        Assert.Empty(KeysOf(stack, DistributedStack.Tenant));
        Assert.Equal(["kept"], await ArchivedCallsAsync(DistributedStack.Tenant));
        Assert.Equal(HttpStatusCode.NotFound, (await api.DeleteAsync($"/api/calls/{CallId}")).StatusCode);

        // The other tenant's call with the same id is all there, until the erase command removes it.
        using var other = Client(stack, DistributedStack.OtherApiKey);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync($"/api/calls/{CallId}")).StatusCode);
        Assert.Equal(2, (await alerts.ListAsync("other", CallId, default)).Count);
        Assert.NotEmpty(KeysOf(stack, "other"));
        Assert.Equal([CallId], await ArchivedCallsAsync("other"));

        var (exit, output) = await RunEraseCommandAsync(stack, "--tenant", "other", "--call", CallId, "--redis", stack.RedisEndpoint,
            "--key-prefix", stack.Namespace + ":", "--archive", _archive);

        Assert.True(exit == 0, output);
        Assert.Contains("\"archiveRows\":3", output);
        Assert.Equal(HttpStatusCode.NotFound, (await other.GetAsync($"/api/calls/{CallId}")).StatusCode);
        Assert.Empty(await alerts.ListAsync("other", CallId, default));
        Assert.Empty(KeysOf(stack, "other"));
        Assert.Empty(await ArchivedCallsAsync("other"));
    }

    /// <summary>Two speakers' windows (one stream ended), two alerts and the archived call, as the aggregator would have stored them.</summary>
    private static async Task SeedAsync(DistributedStack stack, RedisAlertStore alerts, ParquetArchive archive, string tenant)
    {
        var call = Call(CallId, tenant);
        foreach (var window in call.Speakers.SelectMany(s => s.Windows)) await stack.Store.AppendAsync(window, default);
        await stack.Store.CompleteStreamAsync(new StreamKey(tenant, CallId, "customer"), default);
        foreach (var second in new[] { 5, 9 })
            await alerts.AddAsync(new Alert(Alert.EpisodeId(tenant, CallId, "customer", "angry", second), tenant, CallId, "customer", "angry",
                AlertSeverity.Warning, DateTimeOffset.UnixEpoch.AddSeconds(second), second, "customer angry for 5 s"), default);
        await archive.WriteCallAsync(tenant, call, default);
    }

    /// <summary>The seeded windows' event time: today's (the store refuses windows older than its retention), which also names the archive's date folder.</summary>
    private static readonly DateTimeOffset Seeded = DateTimeOffset.UtcNow;

    /// <remarks>Event times of today: the store refuses windows older than its retention.</remarks>
    private static CallWindows Call(string callId, string tenant) => new(callId,
    [
        new SpeakerWindows("customer", SpeakerRole.Customer, [.. Enumerable.Range(0, 2).Select(i => Recent(TimelineStoreContractTests.Window(callId, "customer", i, tenant: tenant)))], true),
        new SpeakerWindows("agent", SpeakerRole.Agent, [Recent(TimelineStoreContractTests.Window(callId, "agent", 0, tenant: tenant))], false),
    ]);

    private static EmotionWindow Recent(EmotionWindow window) => window with { EventTime = Seeded };

    private static HttpClient Client(DistributedStack stack, string apiKey)
    {
        var client = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
        client.DefaultRequestHeaders.Add("X-API-KEY", apiKey);
        return client;
    }

    /// <summary>Every Redis key of the tenant's call (timelines, meta, alerts: their hash tags name tenant and call).</summary>
    private static List<string> KeysOf(DistributedStack stack, string tenant)
    {
        var server = stack.Redis.GetServer(stack.Redis.GetEndPoints()[0]);
        return [.. server.Keys(pattern: $"{stack.Namespace}:*").Select(k => (string)k!)
            .Where(k => k.Contains($"{{{tenant}/{CallId}}}", StringComparison.Ordinal) || k.Contains($"{{{tenant}:{CallId}}}", StringComparison.Ordinal))];
    }

    /// <summary>The call ids of the tenant's archived rows, sorted, distinct.</summary>
    private async Task<List<string>> ArchivedCallsAsync(string tenant)
    {
        var directory = Path.Combine(_archive, "tenant=" + tenant);
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in Directory.Exists(directory) ? Directory.GetFiles(directory, "*.parquet", SearchOption.AllDirectories) : [])
            foreach (var row in (await Parquet.Serialization.ParquetSerializer.DeserializeAsync<WindowRow>(path)).Data) ids.Add(row.CallId);
        return [.. ids];
    }

    private static async Task<(int Exit, string Output)> RunEraseCommandAsync(DistributedStack stack, params string[] args)
    {
        var dll = Path.Combine(ServiceProcess.RepoRoot, "services", "standalone", "bin", ServiceProcess.Configuration, "net10.0", "streaming.dll");
        if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution");
        var info = new ProcessStartInfo("dotnet", [dll, "erase", .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }
}
