using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Inference;
using Streaming.Standalone.Serve;
using Streaming.Timelines;

namespace Streaming.Tests.Shared;

/// <summary>
/// A running <c>serve</c> for tests (link this file and <see cref="NativeCallClient"/> into a test project that references
/// services/standalone): the real host of <see cref="ServeHost"/> with the shipped model on Kestrel, 127.0.0.1, a free port,
/// so clients talk to it over real sockets. Two tenants: <see cref="TenantA"/> analyses both parties (customer-only off) and
/// <see cref="TenantB"/> keeps the default policy; both may stream faster than real time (file replays and load tests).
/// </summary>
public sealed class ServeTestHost : IAsyncDisposable
{
    public const string TenantA = "tenant-a";
    public const string TenantB = "tenant-b";
    public const string KeyA = "serve-tenant-a-key-0123456789";
    public const string KeyB = "serve-tenant-b-key-0123456789";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly WebApplication _app;
    private readonly EmotionModel _model;

    private ServeTestHost(WebApplication app, EmotionModel model)
    {
        _app = app;
        _model = model;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
    }

    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    public IEmotionModel Model => _model;

    /// <summary>The WebSocket address of an ingest path (<c>/v1/audio</c>, <c>/v1/audiohook</c>, ...).</summary>
    public Uri WebSocket(string path) => new(BaseAddress.ToString().Replace("http", "ws", StringComparison.Ordinal).TrimEnd('/') + path);

    /// <param name="settings">More configuration (alert rules, other tenants' settings), applied over the defaults above.</param>
    /// <param name="services">Changes to the host's services after serve registered its own (a store held back, say).</param>
    public static async Task<ServeTestHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var model = EmotionModel.Load(Path.Combine(RepositoryPaths.Root, "models", "emotion-cnn-bilstm.onnx"));
        var configuration = new Dictionary<string, string?>
        {
            [$"Tenants:{TenantA}:ApiKey"] = KeyA,
            [$"Tenants:{TenantA}:CustomerOnly"] = "false",
            [$"Tenants:{TenantA}:MaxRealTimeFactor"] = "10000",
            [$"Tenants:{TenantB}:ApiKey"] = KeyB,
            [$"Tenants:{TenantB}:MaxRealTimeFactor"] = "10000",
            // the tests stream unpaced: a whole call may arrive within the rate limit's burst, however fast the machine
            ["Ingest:RealTimeBurst"] = "00:10:00",
            // and unpaced streams put the pipeline seconds behind, which refuses new calls, and sending ahead
            // then waiting reads as audio arriving late: both off unless a test turns them on
            ["Ingest:RefuseAbovePipelineLag"] = "00:00:00",
            ["Ingest:RefuseAboveArrivalDelay"] = "00:00:00",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>()) configuration[key] = value;
        var builder = ServeHost.CreateBuilder(model, "http://127.0.0.1:0", configFile: null, configuration);
        builder.Logging.ClearProviders();
        services?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapServe();
        await app.StartAsync();
        return new ServeTestHost(app, model);
    }

    /// <summary>An HTTP client for the API with a tenant's key (null: no key).</summary>
    public HttpClient Client(string? apiKey)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null) client.DefaultRequestHeaders.Add("X-API-KEY", apiKey);
        return client;
    }

    /// <summary>
    /// The call's timeline from <c>GET /api/calls/{id}</c> once it has <paramref name="speakers"/> speakers, all complete
    /// (the stop ack confirms the audio is in the pipeline, not yet classified). Fails after <paramref name="timeout"/>.
    /// </summary>
    public async Task<CallTimeline> WaitForCallAsync(string apiKey, string callId, int speakers, TimeSpan timeout)
    {
        using var client = Client(apiKey);
        using var cancel = new CancellationTokenSource(timeout);
        while (true)
        {
            using var response = await client.GetAsync($"/api/calls/{Uri.EscapeDataString(callId)}", cancel.Token);
            if (response.IsSuccessStatusCode)
            {
                var call = (await response.Content.ReadFromJsonAsync<CallTimeline>(Json, cancel.Token))!;
                if (call.Speakers.Count == speakers && call.Speakers.All(s => s.IsComplete)) return call;
            }
            try
            {
                await Task.Delay(100, cancel.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"call '{callId}' did not complete with {speakers} speaker(s) within {timeout}");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _model.Dispose();
    }
}
