using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Alerts;
using Streaming.Audio;
using Streaming.Dashboard;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Tenancy;
using Streaming.Timelines;
using Streaming.Timelines.Api;

namespace Streaming.Tests.Supervision;

/// <summary>
/// What <c>serve</c> runs, in the test process: the embedded pipeline with the shipped model writing into the in-memory
/// store, alerts, the dashboard and its API on Kestrel (127.0.0.1), two tenants. Calls are replayed from the bundled demo
/// WAV files at real-time speed, as a platform would stream them.
/// </summary>
internal sealed class DemoServer : IAsyncDisposable
{
    public const string KeyA = SupervisionWebHost.KeyA;
    public const string KeyB = SupervisionWebHost.KeyB;

    private readonly WebApplication _app;
    private readonly EmbeddedPipeline _pipeline;
    private readonly CancellationTokenSource _stop = new();

    private DemoServer(WebApplication app, EmotionModel model, string archive)
    {
        _app = app;
        ArchiveDirectory = archive;
        _pipeline = new EmbeddedPipeline(model, new ClassifierOptions(), app.Services.GetRequiredService<ITimelineStore>(), _stop.Token);
    }

    public Uri BaseAddress => new(_app.Urls.First());

    /// <summary>Where finished calls are archived as Parquet (a fresh temporary directory).</summary>
    public string ArchiveDirectory { get; }

    public static async Task<DemoServer> StartAsync()
    {
        var model = EmotionModel.Load(Repository.File("models/emotion-cnn-bilstm.onnx"));
        var archive = Path.Combine(Path.GetTempPath(), "demo-archive-" + Guid.NewGuid().ToString("N"));
        var app = await SupervisionWebHost.StartAsync(new Dictionary<string, string?>
        {
            // The demo's angry customer is angry for 6+ s in a row from ~25 s; the calm call's customer never for 6 s within 30 s.
            ["Tenants:tenant-a:Alerts:Rules:0:Name"] = "angry-6s",
            ["Tenants:tenant-a:Alerts:Rules:0:Seconds"] = "6",
            ["Tenants:tenant-a:Alerts:Rules:0:WithinSeconds"] = "30",
            ["Tenants:tenant-a:Alerts:Rules:0:Severity"] = "Critical",
        }, archive, model.Contract.Labels, services => services.AddTimelineApi(), endpoints => endpoints.MapTimelineApi());
        return new DemoServer(app, model, archive);
    }

    /// <summary>Streams the WAV file as tenant <paramref name="tenant"/>'s call, 20 ms frames at real-time speed.</summary>
    public async Task ReplayAsync(string tenant, string callId, string wav, CancellationToken cancellationToken)
    {
        using var source = WavReader.Open(wav);
        var customerOnly = true; // the tenants' default policy
        var ingestor = new CallIngestor(tenant, callId, source.Format.SampleRate, source.Format.Channels,
            new ChannelRoles(0, 1).Assign(source.Format.Channels), customerOnly, _pipeline.Audio);
        await FileReplay.ReplayAsync(source, ingestor, realTime: true, progress: null, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _pipeline.CompleteAsync();
        await _stop.CancelAsync();
        await _app.DisposeAsync();
        _stop.Dispose();
        if (Directory.Exists(ArchiveDirectory)) Directory.Delete(ArchiveDirectory, recursive: true);
    }
}

/// <summary>Files of the repository (the shipped model, the demo calls, docs/), found from the test's output directory.</summary>
internal static class Repository
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (System.IO.File.Exists(Path.Combine(dir.FullName, "Streaming.sln"))) return dir.FullName;
            throw new InvalidOperationException("Streaming.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public static string File(string relative) => Path.Combine(Root, relative);
}
