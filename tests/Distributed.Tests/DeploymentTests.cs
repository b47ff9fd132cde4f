using System.Diagnostics;

namespace Streaming.Tests.Distributed;

public sealed class DeploymentTests
{
    /// <summary>deploy/k8s/validate.sh renders the kustomize base and the GPU overlay and checks them offline.</summary>
    [Fact]
    public async Task Kustomize_BaseAndGpuOverlay_RenderAndValidate()
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
        Assert.Contains("base and gpu overlay valid", await stdout);
    }
}
