using System.Globalization;
using System.Net.Sockets;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The servers and browser of scripts/servers.sh: an environment variable (REDIS_ENDPOINT, KAFKA_BOOTSTRAP, CHROMIUM), else the
/// .servers/env file `servers.sh start` writes. Missing or unreachable fails the test with the reason, never a skip.
/// </summary>
internal static class TestServers
{
    public static string RedisEndpoint => Reachable(Setting("REDIS_ENDPOINT", "Redis address"), "Redis");

    public static string KafkaBootstrap => Reachable(Setting("KAFKA_BOOTSTRAP", "Kafka address"), "Kafka");

    /// <summary>Debian's chromium (never a browser Playwright downloads).</summary>
    public static string Chromium
    {
        get
        {
            var path = Setting("CHROMIUM", "Chromium");
            Assert.True(File.Exists(path), $"Chromium not found at {path}: `scripts/servers.sh start` installs Debian's chromium");
            return path;
        }
    }

    /// <summary>A fresh name per test: tests share the servers, never a key prefix or topic.</summary>
    public static string Unique(string what) => $"{what}-{Guid.NewGuid():N}"[..(what.Length + 13)];

    private static string Setting(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); string.IsNullOrWhiteSpace(value) && dir is not null; dir = dir.Parent)
        {
            var env = Path.Combine(dir.FullName, ".servers", "env");
            if (File.Exists(env)) value = File.ReadAllLines(env).Select(l => l.Split('=', 2)).FirstOrDefault(p => p[0] == variable)?[1];
        }
        if (string.IsNullOrWhiteSpace(value)) Assert.Fail($"{what} unknown: set {variable} or run `scripts/servers.sh start`");
        return value!;
    }

    private static string Reachable(string endpoint, string what)
    {
        var colon = endpoint.LastIndexOf(':');
        using var client = new TcpClient();
        try
        {
            client.Connect(endpoint[..colon], int.Parse(endpoint[(colon + 1)..], CultureInfo.InvariantCulture));
        }
        catch (SocketException e)
        {
            Assert.Fail($"{what} at {endpoint} is unreachable ({e.Message}); start it with `scripts/servers.sh start`");
        }
        return endpoint;
    }
}
