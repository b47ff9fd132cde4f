using System.Net.Sockets;
using Confluent.Kafka;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// Where the real servers are: environment variables KAFKA_BOOTSTRAP and REDIS_ENDPOINT, else the .servers/env file
/// that scripts/servers.sh start writes. Missing or unreachable servers fail the test with the reason: never a skip.
/// </summary>
public static class TestServers
{
    private static readonly Lazy<IReadOnlyDictionary<string, string>> EnvFile = new(ReadEnvFile);

    public static string KafkaBootstrap => Endpoint("KAFKA_BOOTSTRAP", "Kafka");

    public static string RedisEndpoint => Endpoint("REDIS_ENDPOINT", "Redis");

    /// <summary>A service's settings for the test broker (0.9) under its own topic namespace; callers add their own to the copy.</summary>
    public static Dictionary<string, string> KafkaSettings(string topicNamespace, string? bootstrap = null) => new()
    {
        ["Kafka:BootstrapServers"] = bootstrap ?? KafkaBootstrap,
        ["Kafka:LegacyBroker09"] = "true",
        ["Kafka:Namespace"] = topicNamespace,
    };

    /// <summary>Another value scripts/servers.sh start writes (KAFKA_HOME, KAFKA_ZOOKEEPER), or the variable of that name.</summary>
    public static string Setting(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value)) EnvFile.Value.TryGetValue(variable, out value);
        if (string.IsNullOrWhiteSpace(value)) Assert.Fail($"{variable} unknown: set it or run `scripts/servers.sh start` (writes .servers/env)");
        return value!;
    }

    /// <summary>The test broker's SSL listener (certificate for 127.0.0.1 signed by <see cref="TlsFile"/>("TLS_CA")).</summary>
    public static string KafkaSslBootstrap => Endpoint("KAFKA_SSL_BOOTSTRAP", "Kafka's SSL listener");

    /// <summary>TLS_CA, TLS_CERT, TLS_KEY: the throwaway CA and loopback server certificate scripts/servers.sh generates.</summary>
    public static string TlsFile(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value)) EnvFile.Value.TryGetValue(variable, out value);
        if (string.IsNullOrWhiteSpace(value) || !File.Exists(value))
            Assert.Fail($"{variable} ({value}) missing: run `scripts/servers.sh start`, which generates the test certificates");
        return value!;
    }

    /// <summary>Client settings for the test broker: Apache Kafka 0.9.0.1, so the legacy switch is on.</summary>
    public static KafkaOptions Kafka(int maxBatch = 64) => new()
    {
        BootstrapServers = KafkaBootstrap,
        LegacyBroker09 = true,
        ClientId = "distributed-tests",
        SessionTimeoutMs = 6000,
        MaxBatch = maxBatch,
        RetryBackoffSeconds = 0.2,
    };

    /// <summary>A fresh name per test: tests share the broker, never a topic, group or key prefix.</summary>
    public static string Unique(string what) => $"{what}-{Guid.NewGuid():N}"[..(what.Length + 13)];

    /// <summary>Creates a topic through the 0.9 broker's auto-create and waits until every partition has a leader.</summary>
    public static async Task CreateTopicAsync(string topic, int partitions = 4, string? bootstrap = null)
    {
        // The broker's num.partitions (scripts/servers.sh) is 4: asking for another count needs TopicCommand.
        Assert.Equal(4, partitions);
        using var admin = new AdminClientBuilder(new AdminClientConfig
        {
            BootstrapServers = bootstrap ?? KafkaBootstrap,
            ApiVersionRequest = false,
            BrokerVersionFallback = "0.9.0.1",
        }).SetLogHandler(KafkaLog.Write).Build();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            // A metadata request for an unknown topic makes a 0.9 broker create it.
            TopicMetadata? info = null;
            try
            {
                info = admin.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics.SingleOrDefault(t => t.Topic == topic);
            }
            catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_TimedOut)
            {
                // a broker that has just opened its port may not answer metadata yet
            }
            if (info is { Error.IsError: false } && info.Partitions.Count == partitions && info.Partitions.All(p => p.Leader >= 0)) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"topic {topic} has no leader for every partition after 60 s: {info?.Error.Reason}");
            await Task.Delay(200);
        }
    }

    /// <summary>Gives a topic of the shared broker more partitions (0.9: kafka.admin.TopicCommand through ZooKeeper).</summary>
    public static async Task AddPartitionsAsync(string topic, int partitions)
    {
        var home = Setting("KAFKA_HOME");
        var info = new System.Diagnostics.ProcessStartInfo("java", ["-Xmx128m", "-cp", Path.Combine(home, "libs", "*"), "kafka.admin.TopicCommand",
            "--zookeeper", Setting("KAFKA_ZOOKEEPER"), "--alter", "--topic", topic, "--partitions", partitions.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0 && (await output).Contains("succeeded", StringComparison.OrdinalIgnoreCase),
            $"TopicCommand --alter {topic} --partitions {partitions}: exit {process.ExitCode}: {await output} {await errors}");
    }

    private static string Endpoint(string variable, string server)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value)) EnvFile.Value.TryGetValue(variable, out value);
        if (string.IsNullOrWhiteSpace(value))
            Assert.Fail($"{server} address unknown: set {variable} or run `scripts/servers.sh start` (writes .servers/env); the distributed tests need the real servers");
        var colon = value!.LastIndexOf(':');
        using var client = new TcpClient();
        try
        {
            client.Connect(value[..colon], int.Parse(value[(colon + 1)..]));
        }
        catch (Exception e) when (e is SocketException or FormatException)
        {
            Assert.Fail($"{server} at {value} ({variable}) is unreachable: {e.Message}; start it with `scripts/servers.sh start`");
        }
        return value;
    }

    private static IReadOnlyDictionary<string, string> ReadEnvFile()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var file = Path.Combine(dir.FullName, ".servers", "env");
            if (!File.Exists(file)) continue;
            return File.ReadAllLines(file)
                .Select(l => l.Split('=', 2))
                .Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        }
        return new Dictionary<string, string>();
    }
}
