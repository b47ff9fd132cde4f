namespace Streaming.Tests.Distributed;

public sealed class ServiceStartupTests
{
    [Fact]
    public async Task Start_BadKafkaSetting_ExitsNamingTheSetting()
    {
        await using var service = ServiceProcess.Start("featurizer", new Dictionary<string, string> { ["Kafka:BootstrapServers"] = "nohost" });

        var exited = await service.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exited, "the featurizer kept running with an invalid Kafka:BootstrapServers");
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("Kafka:BootstrapServers entry 'nohost' is not host:port", service.Output);
    }
}
