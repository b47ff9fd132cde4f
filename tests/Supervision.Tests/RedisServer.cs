using System.Net.Sockets;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The Redis of scripts/servers.sh: REDIS_ENDPOINT, else the .servers/env file `servers.sh start` writes. Missing or unreachable
/// fails the test with the reason, never a skip.
/// </summary>
internal static class RedisServer
{
    public static string Endpoint
    {
        get
        {
            var value = Environment.GetEnvironmentVariable("REDIS_ENDPOINT");
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); string.IsNullOrWhiteSpace(value) && dir is not null; dir = dir.Parent)
            {
                var env = Path.Combine(dir.FullName, ".servers", "env");
                if (File.Exists(env))
                    value = File.ReadAllLines(env).Select(l => l.Split('=', 2)).FirstOrDefault(p => p[0] == "REDIS_ENDPOINT")?[1];
            }
            if (string.IsNullOrWhiteSpace(value)) Assert.Fail("Redis address unknown: set REDIS_ENDPOINT or run `scripts/servers.sh start`");
            var colon = value!.LastIndexOf(':');
            using var client = new TcpClient();
            try
            {
                client.Connect(value[..colon], int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (SocketException e)
            {
                Assert.Fail($"Redis at {value} is unreachable ({e.Message}); start it with `scripts/servers.sh start`");
            }
            return value;
        }
    }
}
