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

    public static async Task<PrivateRedis> StartAsync()
    {
        _ = TestServers.RedisEndpoint; // the shared server being up proves redis-server is installed
        var port = LocalProcess.FreePort();
        var info = new ProcessStartInfo("redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath()])
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
        Resume();
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}
