using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Streaming.Tests.Distributed;

public sealed partial class DeploymentTests
{
    private static readonly string Dockerfile = Path.Combine(ServiceProcess.RepoRoot, "deploy", "docker", "Dockerfile");

    /// <summary>deploy/k8s/validate.sh renders the base and every overlay and checks schemas, project rules and alert rules offline.</summary>
    [Fact]
    public async Task Kustomize_EveryOverlay_RendersAndValidates()
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(ServiceProcess.RepoRoot, "deploy", "k8s", "validate.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, $"validate.sh exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        Assert.Contains("overlays/production: 35 resources match their schemas", await stdout);
        Assert.Contains("base, dev, production and gpu overlays valid", await stdout);
    }

    /// <summary>
    /// No Dockerfile linter installs here (hadolint is not packaged), so the rules that matter are checked directly:
    /// base images pinned to a version, each service target starts its own project's assembly, and runs non-root.
    /// </summary>
    [Theory]
    [InlineData("ingest")]
    [InlineData("featurizer")]
    [InlineData("classifier")]
    [InlineData("aggregator")]
    public void Dockerfile_ServiceTarget_PinnedNonRootAndStartsTheServiceAssembly(string service)
    {
        var text = File.ReadAllText(Dockerfile);
        foreach (Match image in ImageArgument().Matches(text))
            Assert.Matches(@":\d+(\.\d+)+[-\w.]*$", image.Groups["image"].Value);
        Assert.DoesNotContain(":latest", text);

        var stage = Regex.Match(text, $@"^FROM runtime AS {service}\n(?<body>(?:(?!FROM ).*\n)*)", RegexOptions.Multiline);
        Assert.True(stage.Success, $"no target '{service}' built on the runtime stage");
        var project = File.ReadAllText(Path.Combine(ServiceProcess.RepoRoot, "services", service, $"Streaming.{char.ToUpperInvariant(service[0])}{service[1..]}.csproj"));
        var assembly = Regex.Match(project, "<AssemblyName>(.+)</AssemblyName>").Groups[1].Value;
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{assembly}.dll\"]", stage.Groups["body"].Value);
        var runtime = Regex.Match(text, @"^FROM \$\{RUNTIME_IMAGE\} AS runtime\n(?<body>(?:(?!FROM ).*\n)*)", RegexOptions.Multiline);
        Assert.Contains("USER 1654:1654", runtime.Groups["body"].Value);
    }

    [GeneratedRegex(@"^ARG \w+_IMAGE=(?<image>\S+)$", RegexOptions.Multiline)]
    private static partial Regex ImageArgument();
}
