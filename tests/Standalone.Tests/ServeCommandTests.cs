using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Streaming.Tests.Shared;

namespace Streaming.Tests.Standalone;

/// <summary>The <c>serve</c> command line: secure by default, clear errors, where it listens, a graceful Ctrl+C.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly string _config = Path.Combine(Path.GetTempPath(), $"serve-{Guid.NewGuid():N}.json");

    [Fact]
    public async Task Serve_WithoutTenants_RefusesToStartAndSaysWhy()
    {
        var (code, _, stderr) = await StreamingCli.RunAsync("serve", "--urls", "http://127.0.0.1:0");

        Assert.Equal(2, code);
        Assert.Contains("error: no tenants configured", stderr);
        Assert.Contains("Tenants__demo__ApiKey", stderr);
    }

    [Fact]
    public async Task Serve_BadTenantSetting_RefusesToStartNamingTheSetting()
    {
        await File.WriteAllTextAsync(_config, """{"Tenants":{"acme":{"ApiKey":"short"}}}""");

        var (code, _, stderr) = await StreamingCli.RunAsync("serve", "--urls", "http://127.0.0.1:0", "--config", _config);

        Assert.Equal(2, code);
        Assert.Contains("error: Tenants:acme:ApiKey must be at least 16 characters", stderr);
        Assert.DoesNotContain("   at ", stderr); // one line, no stack trace
    }

    [Fact]
    public async Task Serve_MissingConfigFile_SaysSo()
    {
        var (code, _, stderr) = await StreamingCli.RunAsync("serve", "--config", _config);

        Assert.Equal(2, code);
        Assert.Contains($"error: --config {_config}: no such file", stderr);
    }

    [Fact]
    public async Task Serve_Started_PrintsWhereItListensTakesACallAndStopsOnCtrlC()
    {
        await File.WriteAllTextAsync(_config, "{\"Tenants\":{\"acme\":{\"ApiKey\":\"" + ServeTestHost.KeyA + "\",\"MaxRealTimeFactor\":10000}}}");
        using var serve = StreamingCli.Start("serve", "--urls", "http://127.0.0.1:0", "--config", _config);

        var listening = await serve.WaitForLineAsync("serve: listening on ", TimeSpan.FromMinutes(2));
        var address = new Uri(listening["serve: listening on ".Length..]);
        Assert.Contains("serve: 1 tenant(s): acme (customer-only)", serve.Stdout);
        Assert.Contains($"ws://{address.Authority}/v1/audio", serve.Stdout);
        Assert.Contains($"http://{address.Authority}/dashboard/", serve.Stdout);

        var (samples, rate, _) = NativeCallClient.ReadWav(Path.Combine(RepositoryPaths.Root, "samples", "call-calm.wav"));
        var ack = await NativeCallClient.StreamAsync(new Uri($"ws://{address.Authority}/v1/audio"), ServeTestHost.KeyA, "cli-call", samples[..(rate * 2 * 4)], rate, ["customer", "agent"]);
        Assert.Equal(new JsonArray("customer").ToJsonString(), ack["streams"]!.ToJsonString());
        // Disposed before the signal: an idle keep-alive connection would hold Kestrel's graceful shutdown for its whole timeout.
        using (var http = new HttpClient { BaseAddress = address })
        {
            http.DefaultRequestHeaders.Add("X-API-KEY", ServeTestHost.KeyA);
            // The stop ack means the audio is in the pipeline; the windows are stored a moment later.
            using var patience = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            while (!(await http.GetFromJsonAsync<JsonObject>("/api/calls?state=all", patience.Token))!.ToJsonString().Contains("cli-call", StringComparison.Ordinal))
                await Task.Delay(100, patience.Token);
        }

        serve.Signal("INT");
        var (code, _) = await serve.WaitForExitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, code);
        Assert.EndsWith("serve: stopped", serve.Stdout);
    }

    public void Dispose() => File.Delete(_config);
}
