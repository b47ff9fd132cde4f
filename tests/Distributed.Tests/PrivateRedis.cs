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

    /// <param name="tls">listen with TLS only, with the certificate scripts/servers.sh generated for 127.0.0.1</param>
    /// <param name="password">requirepass</param>
    public static async Task<PrivateRedis> StartAsync(bool tls = false, string? password = null)
    {
        _ = TestServers.RedisEndpoint; // the shared server being up proves redis-server is installed
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
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
