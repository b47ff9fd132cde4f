using StackExchange.Redis;
using Streaming.Alerts;
using Streaming.Tests.Distributed;
using Streaming.Timelines.Redis;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The distributed aggregator (services/aggregator) as its own process, built beside this test assembly, on the real Kafka and
/// Redis of scripts/servers.sh, in a namespace of its own (Kafka topics and group, Redis keys), tenants A and B. Tests write
/// to the same Redis keys as another aggregator instance would (<see cref="Store"/>, <see cref="Alerts"/>): this instance
/// hears of them through Redis, as every instance does.
/// </summary>
public sealed class AggregatorProcess : IAsyncLifetime
{
    public const string KeyA = DashboardHost.KeyA;
    public const string KeyB = DashboardHost.KeyB;

    private ServiceProcess? _process;

    public string Namespace { get; } = TestServers.Unique("dash");

    public string KeyPrefix => Namespace + ":";

    public string RedisEndpoint { get; } = TestServers.RedisEndpoint;

    public Uri BaseAddress => _process!.BaseUrl;

    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public RedisTimelineStore Store { get; private set; } = null!;

    public RedisAlertStore Alerts { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Redis = await ConnectionMultiplexer.ConnectAsync(RedisEndpoint);
        // The synthetic windows have fixed event times (Windows.CallStart) and the store refuses windows older than its retention:
        // a retention of a year keeps them acceptable whatever day the tests run.
        Store = new RedisTimelineStore(Redis, new RedisOptions { Configuration = RedisEndpoint, KeyPrefix = KeyPrefix, Retention = TimeSpan.FromDays(365) });
        Alerts = new RedisAlertStore(Redis, KeyPrefix, TimeSpan.FromHours(1));
        _process = ServiceProcess.Start("aggregator", new Dictionary<string, string>
        {
            ["Kafka:BootstrapServers"] = TestServers.KafkaBootstrap,
            ["Kafka:LegacyBroker09"] = "true",
            ["Kafka:Namespace"] = Namespace,
            ["Kafka:SessionTimeoutMs"] = "6000",
            ["Redis:Configuration"] = RedisEndpoint,
            ["Redis:KeyPrefix"] = KeyPrefix,
            ["Tenants:tenant-a:ApiKey"] = KeyA,
            ["Tenants:tenant-b:ApiKey"] = KeyB,
        });
        await _process.WaitHealthyAsync();
    }

    public HttpClient Client(string key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Add("X-API-KEY", key);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        if (Redis is not null) await Redis.DisposeAsync();
    }
}
