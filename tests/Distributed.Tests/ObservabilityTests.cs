using System.Text.Json;
using System.Text.RegularExpressions;
using Streaming.Timelines;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Traces, metrics and logs of the running distributed pipeline: every service exports its spans and logs over OTLP (configured
/// by the standard OTEL_* variables only), one chunk's journey is one trace across the four services, every metric the dashboard
/// and the alert rules name is one the services export, and log records carry the stream's scope but no secret and no audio.
/// </summary>
public sealed partial class ObservabilityTests
{
    private static readonly string Sample = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
    private static readonly string Observability = Path.Combine(ServiceProcess.RepoRoot, "deploy", "observability");
    private static readonly string[] Services = ["ingest", "featurizer", "classifier", "aggregator"];

    [Fact]
    public async Task Replay_OneCall_OneTraceSpansAllFourServicesDashboardMetricsExportedLogsScoped()
    {
        await using var collector = new OtlpTestCollector();
        await using var stack = await DistributedStack.StartAsync(settings: collector.Settings);

        await stack.ReplayAsync(Sample, ["traced-call"], speed: 0);
        var call = await stack.WaitCompleteAsync("traced-call");

        // The span exporters send every 200 ms, each service on its own clock: wait until one trace holds a span of every
        // service and every consumer batch span's parent (a span of the same trace) has arrived too.
        static bool Complete(IGrouping<string, OtlpTestCollector.ReceivedSpan> t) =>
            Services.All(service => t.Any(s => s.Service == service))
            && t.Where(s => s.Name.StartsWith("process ", StringComparison.Ordinal)).All(span => t.Any(parent => parent.SpanId == span.ParentSpanId));
        await Wait.UntilAsync(() => collector.Spans.ToArray().GroupBy(s => s.TraceId).Any(Complete),
            "one trace with spans from ingest, featurizer, classifier and aggregator, each batch span's parent in it", 60);
        // One trace per chunk, not per call: every chunk ingest published is the root of a trace of its own.
        var published = collector.Spans.Where(s => s.Service == "ingest" && s.Name.StartsWith("publish ", StringComparison.Ordinal)).ToList();
        Assert.True(published.Count > 1, $"{published.Count} chunk publish spans from ingest");
        Assert.All(published, span => Assert.Equal("", span.ParentSpanId));
        Assert.Equal(published.Count, published.Select(s => s.TraceId).Distinct().Count());

        // Lag comes from librdkafka statistics every 5 s: wait for one report after the call went through.
        var exported = new HashSet<string>();
        await Wait.UntilAsync(async () =>
        {
            exported.Clear();
            foreach (var service in new[] { stack.Ingest, stack.Featurizer, stack.Classifier, stack.Aggregator })
            {
                using var http = new HttpClient { BaseAddress = service.BaseUrl };
                foreach (Match name in MetricLine().Matches(await http.GetStringAsync("/metrics"))) exported.Add(name.Groups[1].Value);
            }
            return exported.Contains("streaming_kafka_consumer_lag");
        }, "a consumer lag report", 30);
        var named = NamedMetrics();
        Assert.True(named.Count >= 8, $"only {named.Count} metrics found in deploy/observability");
        Assert.All(named, metric => Assert.True(exported.Contains(metric), $"{metric} is named in deploy/observability but no service exports it"));

        // Every stream of the call has ended: no stage instance still counts it as active.
        foreach (var service in new[] { stack.Featurizer, stack.Classifier, stack.Aggregator })
        {
            using var http = new HttpClient { BaseAddress = service.BaseUrl };
            var active = ActiveLine().Matches(await http.GetStringAsync("/metrics")).ToList();
            Assert.Equal(2, active.Count);
            Assert.All(active, m => Assert.True(m.Groups[3].Value == "0", $"{service.Name}: {m.Value}"));
        }

        await AssertLogsScopedWithoutSecretsOrAudioAsync(collector, stack, call);
    }

    /// <summary>
    /// The aggregator logs each ended stream inside the stream's scope (Tenant, CallId, Stream as log attributes); no service logs a
    /// tenant's API key (OTLP or console), and no record carries binary or list values or a body long enough to hold audio.
    /// </summary>
    private static async Task AssertLogsScopedWithoutSecretsOrAudioAsync(OtlpTestCollector collector, DistributedStack stack, CallWindows call)
    {
        static bool OfCall(OtlpTestCollector.ReceivedLog log) => log.Service == "aggregator" && log.Attributes.GetValueOrDefault("CallId") == "traced-call";
        var speakers = call.Speakers.Select(s => s.Speaker).Order().ToList();
        // Logs export on their own 200 ms clock: the records of the streams' ends may still be on their way.
        await Wait.UntilAsync(() => collector.Logs.Count(OfCall) >= speakers.Count, "the aggregator's scoped log records of the call", 30);
        var scoped = collector.Logs.Where(OfCall).ToList();
        Assert.All(scoped, log => Assert.Equal(DistributedStack.Tenant, log.Attributes.GetValueOrDefault("Tenant")));
        Assert.Equal(speakers, scoped.Select(log => log.Attributes.GetValueOrDefault("Stream") ?? "").Distinct().Order().ToList());

        var logs = collector.Logs.ToArray();
        Assert.All(Services, service => Assert.Contains(logs, log => log.Service == service));
        string[] secrets = [DistributedStack.ApiKey, DistributedStack.OtherApiKey];
        foreach (var log in logs)
        {
            var text = log.Body + "\n" + string.Join("\n", log.Attributes.Values);
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, text, StringComparison.Ordinal));
            Assert.False(log.HasBinaryOrListValue, $"{log.Service} logged a binary or list value: {log.Body}");
            if (log.Body.Length >= 2000) Assert.Fail($"{log.Service} logged a {log.Body.Length}-character message: {log.Body[..200]}...");
        }
        foreach (var service in new[] { stack.Ingest, stack.Featurizer, stack.Classifier, stack.Aggregator })
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, service.Output, StringComparison.Ordinal));
    }

    /// <summary>Every streaming_* metric the dashboard's queries and the alert rules use (histogram and counter suffixes as written).</summary>
    private static HashSet<string> NamedMetrics()
    {
        var dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(Observability, "grafana-dashboard.json")));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray()).Select(t => t.GetProperty("expr").GetString()!);
        var text = string.Join("\n", queries) + File.ReadAllText(Path.Combine(Observability, "alert-rules.yaml"));
        return [.. MetricName().Matches(text).Select(m => m.Value)];
    }

    [GeneratedRegex(@"\bstreaming_[a-z_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^(streaming_[a-z_]+)[{ ]", RegexOptions.Multiline)]
    private static partial Regex MetricLine();

    [GeneratedRegex(@"^streaming_stage_active_(streams|calls)\{[^}]*stage=""([a-z]+)""[^}]*\} (\S+)", RegexOptions.Multiline)]
    private static partial Regex ActiveLine();
}
