using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Streaming.Tests.Distributed;

/// <summary>
/// One service as a real process (`dotnet Streaming.X.dll`, built beside this test assembly's configuration), so tests
/// can kill it (SIGKILL: no commit, no goodbye to the group) or stop it gracefully (SIGTERM) like an orchestrator would.
/// </summary>
public sealed partial class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(string name, Process process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Port { get; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>True when the process ended within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    /// <param name="service">featurizer, classifier, aggregator or ingest</param>
    public static ServiceProcess Start(string service, IReadOnlyDictionary<string, string> settings)
    {
        var assembly = $"Streaming.{char.ToUpperInvariant(service[0])}{service[1..]}";
        var dll = Path.Combine(RepoRoot, "services", service, "bin", Configuration, "net10.0", assembly + ".dll");
        if (!File.Exists(dll)) Assert.Fail($"{dll} is missing: build the solution (the test project references the services)");
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoRoot,
        };
        info.Environment["Urls"] = $"http://127.0.0.1:{port}";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        info.Environment["Logging__LogLevel__Default"] = "Information";
        foreach (var (key, value) in settings) info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        return new ServiceProcess(service, Process.Start(info) ?? throw new InvalidOperationException($"could not start {dll}"), port);
    }

    /// <summary>Waits until /health answers 200 (consumer joined, links up); fails with the process output otherwise.</summary>
    public async Task WaitHealthyAsync(double seconds = 180)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) Assert.Fail($"{Name} exited with {_process.ExitCode} during start-up:\n{Output}");
            try
            {
                var response = await http.GetAsync(new Uri(BaseUrl, "/health"));
                last = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(200);
        }
        Assert.Fail($"{Name} not healthy after {seconds} s (last answer: {last}):\n{Output}");
    }

    /// <summary>The process's resident memory (VmRSS in /proc/PID/status): what a pod's memory limit counts, native memory included; 0 once it exited.</summary>
    public long ResidentBytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            return 0; // exited and reaped, or disposed
        }
    }

    /// <summary>SIGKILL: the process dies mid-batch, with stored-but-uncommitted offsets and without leaving the group.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM: graceful shutdown (finishes the batch in hand, commits, leaves the group).</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        _ = SendSignal(_process.Id, 15);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            Assert.Fail($"{Name} did not stop within 40 s of SIGTERM:\n{Output}");
        }
    }

    /// <summary>SIGSTOP: the process holds still (a stage that cannot keep up, at its extreme) until <see cref="Continue"/>.</summary>
    public void Pause() => Assert.Equal(0, SendSignal(_process.Id, 19));

    /// <summary>SIGCONT: a paused process goes on where it stood.</summary>
    public void Continue() => Assert.Equal(0, SendSignal(_process.Id, 18));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    /// <summary>Debug or Release: the services are built in the configuration this assembly was.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Streaming.sln above {AppContext.BaseDirectory}");
    }
}
