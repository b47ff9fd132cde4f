using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Alerts evaluated by the aggregator process (services/aggregator) on the real Kafka and Redis: windows published to the
/// classifier's output topic are stored, the tenant's rule fires for the call whose customer stays angry and not for the call
/// below its threshold, the alert is stored with the call (read back through the aggregator's API, for that tenant only), and
/// the tenant's webhook (a real HTTP listener here) receives it signed as docs/alerts.md says.
/// </summary>
public sealed class AggregatorAlertTests
{
    private const string Rule = "angry-5s";
    private const string Secret = "webhook-secret-of-the-tests-tenant";

    [Fact]
    public async Task AggregatorProcess_AngryRun_AlertStoredForTenantAndSignedWebhookDelivered_CallBelowThresholdGetsNone()
    {
        await using var receiver = WebhookListener.Start();
        await using var stack = await DistributedStack.StartAsync(services: ["aggregator"], settings: new Dictionary<string, string>
        {
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:Name"] = Rule,
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:Kind"] = "LabelWithin",
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:Label"] = "angry",
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:Seconds"] = "5",
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:WithinSeconds"] = "10",
            [$"Tenants:{DistributedStack.Tenant}:Alerts:Rules:0:Severity"] = "Critical",
            [$"Tenants:{DistributedStack.Tenant}:Alerts:WebhookUrls:0"] = receiver.Url.ToString(),
            [$"Tenants:{DistributedStack.Tenant}:Alerts:WebhookSecret"] = Secret,
            ["Webhooks:FirstRetryDelay"] = "00:00:00.100",
        });
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await using var bus = new KafkaBus();
        var windows = bus.Sink(stack.Namespace + EmotionWindow.Topic, EmotionWindowCodec.Instance);

        // Below the threshold: the customer angry 4 s, calm 8 s, angry 4 s again (never 5 s within 10 s); the agent angry all along,
        // and an agent is never the subject of an alert (docs/alerts.md). Stored in full before the angry call is published: the
        // aggregator handles its batches in order, so by the time the angry call's alert exists this call's windows were evaluated.
        const string calm = "below-threshold";
        var calmWindows = Sequence(calm, "customer", "nnaaaannnnnnnnaaaann", start).Concat(Sequence(calm, "agent", "aaaaaaaaaaaaaaaaaaaa", start)).ToList();
        foreach (var window in calmWindows) await windows.PublishAsync(window, CancellationToken.None);
        await bus.FlushAsync();
        await Wait.UntilAsync(async () => await stack.CountWindowsAsync(calm) == calmWindows.Count, "the calm call's windows in Redis", 120);

        // Angry from window 2: each window adds a second, so 5 s of anger is complete with window 6 (it ends 8 s into the call).
        const string angry = "angry-run";
        foreach (var window in Sequence(angry, "customer", "nnaaaaaaaaannn", start)) await windows.PublishAsync(window, CancellationToken.None);
        await bus.FlushAsync();
        await Wait.UntilAsync(() => receiver.Requests.Count >= 1, $"the webhook POST; services said:\n{stack.Logs()}", 120);

        var id = Streaming.Alerts.Alert.EpisodeId(DistributedStack.Tenant, angry, "customer", Rule, 6);
        using var api = Client(stack, DistributedStack.ApiKey);
        var stored = Assert.Single((await GetJsonAsync(api, $"/api/calls/{angry}/alerts")).EnumerateArray());
        Assert.Equal((id, angry, "customer", Rule, "Critical", 8.0, false),
            (stored.GetProperty("id").GetString(), stored.GetProperty("callId").GetString(), stored.GetProperty("speaker").GetString(),
             stored.GetProperty("rule").GetString(), stored.GetProperty("severity").GetString(), stored.GetProperty("callSeconds").GetDouble(),
             stored.GetProperty("acknowledged").GetBoolean()));
        Assert.Equal(start.AddSeconds(8), stored.GetProperty("time").GetDateTimeOffset());
        Assert.Empty((await GetJsonAsync(api, $"/api/calls/{calm}/alerts")).EnumerateArray());
        using var other = Client(stack, DistributedStack.OtherApiKey);
        Assert.Empty((await GetJsonAsync(other, $"/api/calls/{angry}/alerts")).EnumerateArray());

        // The receiver's check (docs/alerts.md): HMAC-SHA256 of the bytes received, keyed with the secret, before parsing.
        var request = Assert.Single(receiver.Requests);
        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), request.Body));
        Assert.True(CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(request.Signature ?? "")),
            $"signature {request.Signature} is not {expected}");
        Assert.Equal(id, request.IdempotencyKey);
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal(("alert.fired", id, DistributedStack.Tenant, angry, Rule, "Critical"),
            (body.GetProperty("type").GetString(), body.GetProperty("id").GetString(), body.GetProperty("tenant").GetString(),
             body.GetProperty("callId").GetString(), body.GetProperty("rule").GetString(), body.GetProperty("severity").GetString()));
    }

    /// <summary>One window per label of the pattern ("n" neutral, "a" angry): 2 s windows every 1 s from <paramref name="start"/>.</summary>
    private static IEnumerable<EmotionWindow> Sequence(string callId, string speaker, string pattern, DateTimeOffset start) =>
        pattern.Select((c, index) =>
        {
            var label = c == 'a' ? "angry" : "neutral";
            float[] probabilities = [.. TestModel.Labels.Select(l => l == label ? 0.7f : 0.1f)];
            return new EmotionWindow(new StreamKey(DistributedStack.Tenant, callId, speaker), speaker == "agent" ? SpeakerRole.Agent : SpeakerRole.Customer,
                index, index, index + 2, label, label, 0.7f, probabilities, IsFinal: false, start.AddSeconds(index + 2));
        });

    private static HttpClient Client(DistributedStack stack, string key)
    {
        var client = new HttpClient { BaseAddress = stack.Aggregator.BaseUrl };
        client.DefaultRequestHeaders.Add("X-API-KEY", key);
        return client;
    }

    private static async Task<JsonElement> GetJsonAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement;
    }

    /// <summary>A webhook receiver on 127.0.0.1 (<see cref="HttpListener"/>): records each POST's raw body and headers, answers 200.</summary>
    private sealed class WebhookListener : IAsyncDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly List<Received> _requests = [];
        private readonly Task _loop;

        public sealed record Received(byte[] Body, string? Signature, string? IdempotencyKey);

        private WebhookListener()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/hook/");
            probe.Stop();
            _listener.Prefixes.Add(Url.ToString());
            _listener.Start();
            _loop = Task.Run(ServeAsync);
        }

        public Uri Url { get; }

        public IReadOnlyList<Received> Requests
        {
            get
            {
                lock (_requests) return [.. _requests];
            }
        }

        public static WebhookListener Start() => new();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return; // stopped
                }
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                lock (_requests)
                    _requests.Add(new Received(body.ToArray(), context.Request.Headers["X-Emotion-Signature"], context.Request.Headers["Idempotency-Key"]));
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop;
        }
    }
}
