using System.Diagnostics;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A redis-server of one test's own, so the test can make it unreachable (SIGSTOP: connections hang, as on a network
/// partition) and bring it back with its data (SIGCONT), or stop it and start it again on the same port, without
/// disturbing the other tests.
/// </summary>
public sealed class PrivateRedis : IAsyncDisposable
{
    private readonly IReadOnlyList<string> _arguments;
    private readonly int _port;
    private readonly string? _dataDirectory;
    private Process _process;

    private PrivateRedis(IReadOnlyList<string> arguments, int port, string? dataDirectory)
    {
        _arguments = arguments;
        _port = port;
        _dataDirectory = dataDirectory;
        _process = Launch(arguments);
        Endpoint = $"127.0.0.1:{port}";
    }

    public string Endpoint { get; }

    /// <param name="tls">listen with TLS only, with the certificate scripts/servers.sh generated for 127.0.0.1</param>
    /// <param name="password">requirepass</param>
    /// <param name="persistent">an append-only file in a directory of its own, so that <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> keep the data</param>
    public static async Task<PrivateRedis> StartAsync(bool tls = false, string? password = null, bool persistent = false)
    {
        _ = TestServers.RedisEndpoint; // the shared server being up proves redis-server is installed
        var port = LocalProcess.FreePort();
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<string> arguments = tls
            ? ["--port", "0", "--tls-port", portText, "--tls-cert-file", TestServers.TlsFile("TLS_CERT"), "--tls-key-file", TestServers.TlsFile("TLS_KEY"),
               "--tls-ca-cert-file", TestServers.TlsFile("TLS_CA"), "--tls-auth-clients", "no"]
            : ["--port", portText];
        var dataDirectory = persistent ? Directory.CreateTempSubdirectory("private-redis-").FullName : null;
        arguments.AddRange(["--bind", "127.0.0.1", "--save", "", "--appendonly", persistent ? "yes" : "no", "--dir", dataDirectory ?? Path.GetTempPath()]);
        if (password is not null) arguments.AddRange(["--requirepass", password]);
        var redis = new PrivateRedis(arguments, port, dataDirectory);
        await LocalProcess.WaitForPortAsync(port, $"the private redis-server on port {port}", 15);
        return redis;
    }

    public void Pause() => LocalProcess.Signal(_process, LocalProcess.Stop);

    public void Resume() => LocalProcess.Signal(_process, LocalProcess.Continue);

    /// <summary>SIGTERM: Redis shuts down (a persistent one writes its append-only file first); connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        LocalProcess.Signal(_process, LocalProcess.Terminate);
        await _process.WaitForExitAsync();
    }

    /// <summary>Starts the server again on the same port, with the same settings (and, when persistent, the data it had).</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _process = Launch(_arguments);
        await LocalProcess.WaitForPortAsync(_port, $"the private redis-server on port {_port} started again", 15);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process.HasExited) _process.Dispose();
        else await LocalProcess.KillAsync(_process);
        if (_dataDirectory is not null) Directory.Delete(_dataDirectory, recursive: true);
    }

    private static Process Launch(IReadOnlyList<string> arguments) =>
        Process.Start(new ProcessStartInfo("redis-server", arguments) { RedirectStandardOutput = true, UseShellExecute = false })
            ?? throw new InvalidOperationException("redis-server did not start");
}
