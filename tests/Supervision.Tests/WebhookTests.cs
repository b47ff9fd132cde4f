using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Streaming.Alerts;

namespace Streaming.Tests.Supervision;

public sealed class WebhookTests
{
    private const string Secret = "a-webhook-secret-of-tenant-1";

    /// <summary>Tenant t1: "angry 5 s within 10 s", one webhook; webhook delivery settings as given.</summary>
    private static ServiceProvider Services(Uri webhook, params (string Key, string Value)[] delivery)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Tenants:t1:Alerts:Rules:0:Name"] = "angry-5s",
            ["Tenants:t1:Alerts:Rules:0:Label"] = "angry",
            ["Tenants:t1:Alerts:Rules:0:Seconds"] = "5",
            ["Tenants:t1:Alerts:Rules:0:WithinSeconds"] = "10",
            ["Tenants:t1:Alerts:Rules:0:Severity"] = "Critical",
            ["Tenants:t1:Alerts:WebhookUrls:0"] = webhook.ToString(),
            ["Tenants:t1:Alerts:WebhookSecret"] = Secret,
            ["Webhooks:FirstRetryDelay"] = "00:00:00.010",
        };
        foreach (var (key, value) in delivery) settings["Webhooks:" + key] = value;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddAlerting(configuration).AddSingleton<IAlertStore, InMemoryAlertStore>().BuildServiceProvider();
    }

    private static async Task ObserveAsync(AlertMonitor monitor, string call, string pattern)
    {
        foreach (var window in Windows.Sequence(pattern, call: call)) await monitor.ObserveAsync(window, default);
    }

    [Fact]
    public async Task Alert_IsPostedWithHmacSignatureIdempotencyKeyAndDocumentedBody()
    {
        await using var receiver = await WebhookReceiver.StartAsync((_, _) => Task.FromResult(200));
        await using var services = Services(receiver.Url);
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        await dispatcher.StartAsync(default);

        await ObserveAsync(services.GetRequiredService<AlertMonitor>(), "call-7", "nnaaaaaaa");
        await receiver.WaitForAsync(1);
        await dispatcher.StopAsync(default);

        var request = Assert.Single(receiver.Requests);
        // The signature computed here from the received bytes, independently of the sender's code.
        var expected = "sha256=" + Convert.ToHexStringLower(new HMACSHA256(Encoding.UTF8.GetBytes(Secret)).ComputeHash(request.Body));
        Assert.Equal(expected, request.Signature);
        Assert.Equal("application/json", request.ContentType);
        var body = JsonDocument.Parse(request.Body).RootElement;
        // Windows 0-1 calm ([0, 3] s), then anger adds a second per window: 5 s with window 6, which ends at 8 s.
        var id = Alert.EpisodeId("t1", "call-7", "customer", "angry-5s", 6);
        Assert.Equal(id, request.IdempotencyKey);
        Assert.Equal(("alert.fired", id, "t1", "call-7", "customer", "angry-5s", "Critical"),
            (body.GetProperty("type").GetString(), body.GetProperty("id").GetString(), body.GetProperty("tenant").GetString(),
             body.GetProperty("callId").GetString(), body.GetProperty("speaker").GetString(), body.GetProperty("rule").GetString(),
             body.GetProperty("severity").GetString()));
        Assert.Equal(Windows.CallStart.AddSeconds(8), body.GetProperty("time").GetDateTimeOffset());
        Assert.Equal(8.0, body.GetProperty("callSeconds").GetDouble());
        Assert.Equal("customer angry for 5 s within the last 10 s", body.GetProperty("description").GetString());
    }

    [Fact]
    public async Task ReceiverFailingTwice_GetsTheSameAlertThreeTimesWithOneKey_AndAReplayIsNotResent()
    {
        await using var receiver = await WebhookReceiver.StartAsync((n, _) => Task.FromResult(n <= 2 ? 503 : 200));
        await using var services = Services(receiver.Url);
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        var monitor = services.GetRequiredService<AlertMonitor>();
        await dispatcher.StartAsync(default);

        await ObserveAsync(monitor, "call-1", "aaaaaa");
        await receiver.WaitForAsync(3);
        // The aggregator replays the same windows (a redelivery after a restart): the alert exists, nothing is sent again.
        await ObserveAsync(monitor, "call-1", "aaaaaa");
        // A later alert of another call, to know the dispatcher has processed everything queued before it.
        await ObserveAsync(monitor, "call-2", "aaaaaa");
        await receiver.WaitForAsync(4);
        await dispatcher.StopAsync(default);

        var requests = receiver.Requests;
        var first = Alert.EpisodeId("t1", "call-1", "customer", "angry-5s", 3);
        Assert.Equal([first, first, first, Alert.EpisodeId("t1", "call-2", "customer", "angry-5s", 3)], requests.Select(r => r.IdempotencyKey));
        Assert.All(requests.Take(3), r => Assert.Equal(requests[0].Body, r.Body));
        Assert.Single(await services.GetRequiredService<IAlertStore>().ListAsync("t1", "call-1", default));
    }

    [Fact]
    public async Task HangingReceiver_DoesNotHoldThePipeline()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var receiver = await WebhookReceiver.StartAsync(async (_, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return 200;
        });
        await using var services = Services(receiver.Url, ("Parallelism", "2"), ("QueueCapacity", "4"), ("AttemptTimeout", "00:05:00"));
        var dispatcher = services.GetRequiredService<WebhookDispatcher>();
        var monitor = services.GetRequiredService<AlertMonitor>();
        await dispatcher.StartAsync(default);

        // 20 calls, an alert each, while the receiver holds every request it gets and answers none.
        var observe = Task.Run(async () =>
        {
            for (var call = 0; call < 20; call++) await ObserveAsync(monitor, $"call-{call}", "nnaaaaaaannn");
        });
        await observe.WaitAsync(TimeSpan.FromMinutes(2)); // a guard against a hang, not a speed assertion
        await receiver.WaitForAsync(2);

        Assert.False(release.Task.IsCompleted);
        Assert.Equal(2, receiver.Requests.Count); // the two deliveries in flight, still unanswered
        var store = services.GetRequiredService<IAlertStore>();
        for (var call = 0; call < 20; call++) Assert.Single(await store.ListAsync("t1", $"call-{call}", default));
        release.SetResult();
        await dispatcher.StopAsync(default);
    }
}
