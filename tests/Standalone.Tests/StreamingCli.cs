using System.Diagnostics;

namespace Streaming.Tests.Standalone;

/// <summary>The built <c>streaming</c> program (services/standalone) as a user runs it: its own process, output captured.</summary>
internal sealed class StreamingCli : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _stderr;
    private readonly List<string> _stdout = [];
    private readonly TaskCompletionSource _stdoutDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private StreamingCli(Process process)
    {
        _process = process;
        _stderr = process.StandardError.ReadToEndAsync();
        process.OutputDataReceived += (_, line) =>
        {
            if (line.Data is null) _stdoutDone.TrySetResult();
            else lock (_stdout) _stdout.Add(line.Data);
        };
        process.BeginOutputReadLine();
    }

    public int Id => _process.Id;

    public static StreamingCli Start(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "streaming.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        return new StreamingCli(Process.Start(start)!);
    }

    /// <summary>Runs to the end: exit code, stdout, stderr.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var cli = Start(args);
        var (code, stderr) = await cli.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (code, cli.Stdout, stderr);
    }

    public string Stdout
    {
        get { lock (_stdout) return string.Join('\n', _stdout); }
    }

    /// <summary>The first stdout line that starts with <paramref name="prefix"/>, once it appears (the process still running).</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            lock (_stdout)
                if (_stdout.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } line) return line;
            if (_process.HasExited) throw new InvalidOperationException($"streaming exited ({_process.ExitCode}) before printing '{prefix}': {Stdout} {_stderr.Result}");
            await Task.Delay(100, cancel.Token);
        }
    }

    /// <summary>Sends a POSIX signal, as a terminal's Ctrl+C (INT) or an orchestrator (TERM) would.</summary>
    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<(int ExitCode, string Stderr)> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"streaming did not exit within {timeout}");
        }
        await _stdoutDone.Task;
        return (_process.ExitCode, await _stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
