using System.Diagnostics;

namespace Streaming.Tests.Pipeline;

/// <summary>Runs the built `streaming` command line as a user would, capturing exit code and output.</summary>
internal static class Cli
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Sample(string name) => Path.Combine(RepoRoot, "samples", name);

    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "streaming.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"streaming {string.Join(' ', args)} did not finish in 5 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempFile(string extension) => Path.Combine(Path.GetTempPath(), $"streaming-test-{Guid.NewGuid():N}{extension}");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Streaming.sln not found above the test binaries");
    }
}
