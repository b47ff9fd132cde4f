using System.Text.Json;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The whole distributed pipeline on the real servers: ingest → Kafka → featurizer → classifier → aggregator → Redis.
/// One class, so these heavier tests run one after another.
/// </summary>
public sealed class EndToEndTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
    private static readonly Lazy<Task<Timelines.CallWindows>> Embedded = new(() => DistributedStack.EmbeddedAsync(Sample, "embedded"));

    [Fact]
    public async Task Replay_StereoCallThroughTheShippedModel_ProsodyCrossesKafkaAndTheTimelineIsTheEmbeddedOne()
    {
        // the shipped model reads prosody: the featurizer service computes it from the model file's contract, the frames carry
        // it over Kafka, and the classifier service feeds the model's second input, window for window as the embedded pipeline
        var shipped = Path.Combine(ServiceProcess.RepoRoot, "models", "emotion-cnn-bilstm.onnx");
        Assert.True(Streaming.Contracts.ModelContract.FromFile(shipped).Prosody);
        await using var stack = await DistributedStack.StartAsync(settings: new Dictionary<string, string> { ["Model:Path"] = shipped });

        await stack.ReplayAsync(Sample, ["e2e-prosody"], speed: 0);

        var embedded = await DistributedStack.EmbeddedAsync(Sample, "embedded-prosody", shipped);
        Assert.All(embedded.Speakers, s => Assert.True(s.Windows.Count(w => w.Label != "silence") >= 5, $"{s.Speaker}: too few speech windows"));
        DistributedStack.AssertSameTimeline(embedded, await stack.WaitCompleteAsync("e2e-prosody"));
    }

    [Fact]
    public async Task Replay_StereoCall_SameTimelineAsEmbeddedPipeline()
    {
        await using var stack = await DistributedStack.StartAsync();

        var acks = await stack.ReplayAsync(Sample, ["e2e-call"], speed: 0);

        Assert.Contains("\"type\":\"stopped\"", acks[0]);
        var embedded = await Embedded.Value;
        // a real comparison: both speakers have speech windows with model output
        Assert.All(embedded.Speakers, s => Assert.True(s.Windows.Count(w => w.Label != "silence") >= 5, $"{s.Speaker}: too few speech windows"));
        DistributedStack.AssertSameTimeline(embedded, await stack.WaitCompleteAsync("e2e-call"));

        // the aggregator's REST API serves the same timeline, and every service exports Prometheus metrics
        using var http = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
        http.DefaultRequestHeaders.Add("X-API-KEY", DistributedStack.ApiKey);
        var calls = (await GetJsonAsync(http, "/api/calls", stack)).RootElement.GetProperty("calls");
        Assert.Equal("e2e-call", Assert.Single(calls.EnumerateArray()).GetProperty("callId").GetString());
        var timeline = (await GetJsonAsync(http, "/api/calls/e2e-call", stack)).RootElement;
        var customer = timeline.GetProperty("speakers").EnumerateArray().Single(s => s.GetProperty("speaker").GetString() == "customer");
        Assert.Equal(embedded.Speakers.Single(s => s.Speaker == "customer").Windows.Count, customer.GetProperty("windows").GetArrayLength());
        Assert.True(timeline.GetProperty("summary").GetProperty("speakers").TryGetProperty("agent", out _));
        var agent = (await GetJsonAsync(http, "/api/calls/e2e-call/speakers/agent", stack)).RootElement;
        Assert.Equal("Agent", agent.GetProperty("role").GetString());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/calls/nobody")).StatusCode);

        // the aggregator also serves the dashboard, and the call's live view from Redis (docs/dashboard.md)
        Assert.Contains("Emotion supervisor", await http.GetStringAsync("/dashboard/"));
        using (var live = await http.GetStreamAsync("/api/live/calls/e2e-call"))
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(live).EnumerateAsync())
            {
                if (item.EventType != "window") continue;
                Assert.Contains("\"window\":{\"index\":0", item.Data);
                break;
            }
        }

        // only the call's own tenant reads it: another tenant gets a 404 and an empty list, no key a 401
        using var other = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
        other.DefaultRequestHeaders.Authorization = new("Bearer", DistributedStack.OtherApiKey);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await other.GetAsync("/api/calls/e2e-call")).StatusCode);
        Assert.Equal("""{"calls":[],"next":null}""", await other.GetStringAsync("/api/calls"));
        using var anonymous = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/calls/e2e-call")).StatusCode);
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("streaming_kafka_consumed", metrics);
    }

    [Theory]
    [InlineData("classifier")]
    [InlineData("featurizer")]
    public async Task Stage_KilledAndRestartedMidCall_TimelinesCompleteWithoutDuplicates(string service)
    {
        await using var stack = await DistributedStack.StartAsync();
        string[] calls = [$"kill-{service}-0", $"kill-{service}-1", $"kill-{service}-2"];

        var replay = stack.ReplayAsync(Sample, calls, Speed);
        await WaitWindowsAsync(stack, calls, "windows before the kill");
        await stack.KillAndRestartAsync(service);
        await replay;

        await AssertAllSameAsEmbeddedAsync(stack, calls);
    }

    [Fact]
    public async Task Featurizer_SecondInstanceJoinsThenLeavesMidCall_TimelinesCompleteWithoutDuplicates()
    {
        await using var stack = await DistributedStack.StartAsync();
        // several calls, so that some of their partitions move to the new instance and back
        string[] calls = ["scale-0", "scale-1", "scale-2", "scale-3", "scale-4", "scale-5"];

        // Real time (52 s): at 4x the calls could end before a second process started and joined on a loaded machine,
        // and then no window could arrive while two featurizers shared them.
        var replay = stack.ReplayAsync(Sample, calls, speed: 1);
        await WaitWindowsAsync(stack, calls, "windows before the second featurizer");
        var second = stack.Start("featurizer");
        await second.WaitHealthyAsync();
        await Wait.UntilAsync(() => second.Output.Contains("assigned partitions [", StringComparison.Ordinal), "the second featurizer to get partitions");
        var before = await CountAsync(stack, calls);
        await Wait.UntilAsync(async () => await CountAsync(stack, calls) >= before + 12, "windows while two featurizers share the calls");
        await second.StopAsync();
        await replay;

        await AssertAllSameAsEmbeddedAsync(stack, calls);
    }

    [Fact]
    public async Task Aggregator_RedisPausedMidCall_ReportsUnhealthyAndResumesWithoutLoss()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var stack = await DistributedStack.StartAsync(redis.Endpoint);
        string[] calls = ["outage-0", "outage-1"];

        var replay = stack.ReplayAsync(Sample, calls, Speed);
        await WaitWindowsAsync(stack, calls, "windows before the outage");
        redis.Pause();
        try
        {
            await WaitHealthAsync(stack.Aggregator, healthy: false);
        }
        finally
        {
            redis.Resume();
        }
        await WaitHealthAsync(stack.Aggregator, healthy: true);
        await replay;

        await AssertAllSameAsEmbeddedAsync(stack, calls);
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path, DistributedStack stack)
    {
        var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}\n{stack.Logs()}");
        return JsonDocument.Parse(body);
    }

    /// <summary>Paced replay: 4x real time keeps a 52 s call mid-stream for the 13 s a restart needs.</summary>
    private const double Speed = 4;

    private static async Task<int> CountAsync(DistributedStack stack, string[] calls)
    {
        var total = 0;
        foreach (var call in calls) total += await stack.CountWindowsAsync(call);
        return total;
    }

    private static Task WaitWindowsAsync(DistributedStack stack, string[] calls, string what) =>
        Wait.UntilAsync(async () => await CountAsync(stack, calls) >= 2 * calls.Length, what, 180);

    private static async Task WaitHealthAsync(ServiceProcess service, bool healthy)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(new Uri(service.BaseUrl, "/health"))).IsSuccessStatusCode == healthy;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, $"{service.Name} /health to turn {(healthy ? "healthy" : "unhealthy")}");
    }

    private static async Task AssertAllSameAsEmbeddedAsync(DistributedStack stack, string[] calls)
    {
        var embedded = await Embedded.Value;
        foreach (var call in calls) DistributedStack.AssertSameTimeline(embedded, await stack.WaitCompleteAsync(call));
    }
}
