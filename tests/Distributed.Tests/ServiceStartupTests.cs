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

    [Fact]
    public async Task Start_FeaturizerModelFileNotAModel_ExitsNamingTheFile()
    {
        // the featurizer takes its features from the model's contract: a wrong file must stop it, not run default features
        var wav = Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav");
        await using var service = ServiceProcess.Start("featurizer", new Dictionary<string, string>
        {
            ["Kafka:BootstrapServers"] = TestServers.KafkaBootstrap,
            ["Model:Path"] = wav,
        });

        var exited = await service.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exited, "the featurizer kept running with a WAV file as its model");
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains($"model file '{wav}'", service.Output);
    }

    [Fact]
    public async Task Start_TwoTenantsWithOneApiKey_ExitsNamingTheSetting()
    {
        await using var service = ServiceProcess.Start("ingest", new Dictionary<string, string>
        {
            ["Kafka:BootstrapServers"] = TestServers.KafkaBootstrap,
            ["Tenants:a:ApiKey"] = "the-same-key-0123456789",
            ["Tenants:b:ApiKey"] = "the-same-key-0123456789",
            ["Tenants:c:ApiKey"] = "short",
            ["Tenants:c:ClientSecret"] = "not base64!",
        });

        var exited = await service.WaitForExitAsync(TimeSpan.FromSeconds(120));

        Assert.True(exited, "ingest kept running with a duplicate tenant API key");
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains("Tenants:b:ApiKey is the same as Tenants:a:ApiKey", service.Output);
        Assert.Contains("Tenants:c:ApiKey must be at least 16 characters", service.Output);
        Assert.Contains("Tenants:c:ClientSecret is not base64", service.Output);
        Assert.DoesNotContain("the-same-key-0123456789", service.Output); // secrets never reach the log
    }
}
