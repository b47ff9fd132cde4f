using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A redis-server of one test's own, so the test can make it unreachable (SIGSTOP: connections hang, as on a network
/// partition) and bring it back with its data (SIGCONT) without disturbing the other tests.
/// </summary>
public sealed partial class PrivateRedis : IAsyncDisposable
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
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var info = new ProcessStartInfo("redis-server", ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", Path.GetTempPath()])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var redis = new PrivateRedis(Process.Start(info) ?? throw new InvalidOperationException("redis-server did not start"), port);
        await Wait.UntilAsync(() =>
        {
            using var client = new TcpClient();
            try
            {
                client.Connect("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, $"the private redis-server on port {port}", 15);
        return redis;
    }

    public void Pause() => Signal(19);

    public void Resume() => Signal(18);

    private void Signal(int signal)
    {
        if (SendSignal(_process.Id, signal) != 0) throw new InvalidOperationException($"kill -{signal} {_process.Id} failed");
    }

    public async ValueTask DisposeAsync()
    {
        Resume();
        _process.Kill();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}
