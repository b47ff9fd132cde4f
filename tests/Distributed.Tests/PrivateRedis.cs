using System.Diagnostics;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A redis-server of one test's own, so the test can make it unreachable (SIGSTOP: connections hang, as on a network
/// partition) and bring it back with its data (SIGCONT) without disturbing the other tests.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly Process _process;

    private PrivateRedis(Process process, int port)
    {
        _process = process;
        Endpoint = $"127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    /// <param name="tls">listen with TLS only, with the certificate scripts/servers.sh generated for 127.0.0.1</param>
    /// <param name="password">requirepass</param>
    public static async Task<PrivateRedis> StartAsync(bool tls = false, string? password = null)
    {
        _ = TestServers.RedisEndpoint; // the shared server being up proves redis-server is installed
        var port = LocalProcess.FreePort();
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<string> arguments = tls
            ? ["--port", "0", "--tls-port", portText, "--tls-cert-file", TestServers.TlsFile("TLS_CERT"), "--tls-key-file", TestServers.TlsFile("TLS_KEY"),
               "--tls-ca-cert-file", TestServers.TlsFile("TLS_CA"), "--tls-auth-clients", "no"]
            : ["--port", portText];
        arguments.AddRange(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath()]);
        if (password is not null) arguments.AddRange(["--requirepass", password]);
        var info = new ProcessStartInfo("redis-server", arguments)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var redis = new PrivateRedis(Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start"), port);
        await LocalProcess.WaitForPortAsync(port, $"the private redis-server on port {port}", 15);
        return redis;
    }

    public void Pause() => LocalProcess.Signal(_process, LocalProcess.Stop);

    public void Resume() => LocalProcess.Signal(_process, LocalProcess.Continue);

    public async ValueTask DisposeAsync()
    {
        await LocalProcess.KillAsync(_process);
    }
}
