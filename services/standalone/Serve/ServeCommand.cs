using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Ingest.Sessions;
using Streaming.Tenancy;

namespace Streaming.Standalone.Serve;

/// <summary>`serve`: live calls in, timelines, dashboard and alerts out, one process, no Kafka or Redis (<see cref="ServeHost"/>).</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where to listen, ';'-separated (e.g. http://0.0.0.0:5100 to accept calls from the network)", DefaultValueFactory = _ => ServeHost.DefaultUrls };
        var config = new Option<FileInfo?>("--config") { Description = "JSON settings file: Tenants, Ingest, Webhooks, Archive (docs/platforms.md)" };
        var model = new Option<FileInfo>("--model") { Description = "ONNX emotion model", DefaultValueFactory = _ => new FileInfo(AnalyzeCommand.DefaultModelPath) };
        var threads = new Option<int>("--threads") { Description = "ONNX Runtime intra-op threads", DefaultValueFactory = _ => 1 };
        var command = new Command("serve", "Accept live calls (WebSocket ingest) and serve timelines, the dashboard and alerts")
        {
            urls, config, model, threads,
        };
        command.SetAction((parse, cancellationToken) =>
            RunAsync(parse.GetValue(urls)!, parse.GetValue(config)?.FullName, parse.GetValue(model)!, parse.GetValue(threads), cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(string urls, string? config, FileInfo modelFile, int threads, CancellationToken cancellationToken)
    {
        var errors = Console.Error;
        EmotionModel model;
        WebApplication app;
        try
        {
            if (threads < 1) throw new ArgumentException("--threads must be at least 1");
            model = EmotionModel.Load(new EmotionModelOptions { Path = modelFile.FullName, IntraOpThreads = threads }, FeatureConfig.Telephone8k,
                line => errors.WriteLine(line));
        }
        catch (Exception e) when (e is ArgumentException or ModelContractException or FileNotFoundException or InvalidDataException)
        {
            await errors.WriteLineAsync($"error: {e.Message}");
            return AnalyzeCommand.Fatal;
        }

        using (model)
        {
            try
            {
                app = ServeHost.CreateBuilder(model, urls, config).Build();
                app.MapServe();
                await app.StartAsync(cancellationToken);
            }
            catch (ServeConfigurationException e)
            {
                await errors.WriteLineAsync($"error: {e.Message}");
                return AnalyzeCommand.Fatal;
            }
            catch (OptionsValidationException e)
            {
                foreach (var failure in e.Failures) await errors.WriteLineAsync($"error: {failure}");
                return AnalyzeCommand.Fatal;
            }
            catch (IOException e)
            {
                // Kestrel could not bind (address in use, no such interface).
                await errors.WriteLineAsync($"error: cannot listen on {urls}: {e.Message}");
                return AnalyzeCommand.Fatal;
            }

            await using (app)
            {
                PrintStarted(app);
                // Ctrl+C and SIGTERM stop the host (its console lifetime): the server closes, then the pipeline drains into the store.
                using var stop = cancellationToken.Register(() => app.Lifetime.StopApplication());
                await app.WaitForShutdownAsync(CancellationToken.None);
                await Console.Out.WriteLineAsync("serve: stopped");
                return AnalyzeCommand.Ok;
            }
        }
    }

    /// <summary>Where everything is, so the operator can point a platform and a browser at it.</summary>
    private static void PrintStarted(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var tenants = app.Services.GetRequiredService<TenantRegistry>().All;
        var model = app.Services.GetRequiredService<IEmotionModel>().Contract;
        var output = Console.Out;
        output.WriteLine($"serve: model '{model.Name}' {model.Version}, labels {string.Join(", ", model.Labels)}");
        output.WriteLine($"serve: {tenants.Count} tenant(s): {string.Join(", ", tenants.Select(t => t.CustomerOnly ? $"{t.Id} (customer-only)" : t.Id))}");
        foreach (var address in addresses)
        {
            var ws = address.Replace("http", "ws", StringComparison.Ordinal);
            output.WriteLine($"serve: listening on {address}");
            output.WriteLine($"  ingest     {ws}{NativeEndpoint.Path} (native; X-API-KEY)");
            output.WriteLine($"             {ws}{PlatformEndpoints.AudioHookPath} (Genesys AudioHook), {ws}{PlatformEndpoints.TwilioPath} (Twilio)");
            output.WriteLine($"  dashboard  {address}/dashboard/");
            output.WriteLine($"  API        {address}/api/calls  (X-API-KEY or Authorization: Bearer)");
            output.WriteLine($"  health     {address}/health");
        }
        output.WriteLine("serve: Ctrl+C stops (timelines are in memory: they end with the process)");
    }
}
