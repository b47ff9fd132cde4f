using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Alerts;
using Streaming.Dashboard;
using Streaming.Tenancy;
using Streaming.Timelines;

namespace Streaming.Tests.Supervision;

/// <summary>
/// The dashboard's endpoints on a real Kestrel (127.0.0.1) over an in-memory store, with two tenants. Tests write windows
/// through <see cref="Store"/> the way the pipeline's last stage does.
/// </summary>
internal sealed class DashboardHost : IAsyncDisposable
{
    public const string KeyA = "tenant-a-key-0123456789";
    public const string KeyB = "tenant-b-key-0123456789";
    public static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];

    private readonly WebApplication _app;

    private DashboardHost(WebApplication app) => _app = app;

    public ITimelineStore Store => _app.Services.GetRequiredService<ITimelineStore>();

    public LiveUpdates Live => _app.Services.GetRequiredService<LiveUpdates>();

    /// <summary>The live streams as the endpoints run them, for a reader the test paces itself.</summary>
    public LiveViews Views => _app.Services.GetRequiredService<LiveViews>();

    public Tenant Tenant(string id) => _app.Services.GetRequiredService<TenantRegistry>().Find(id)!;

    public Uri BaseAddress => new(_app.Urls.First());

    /// <param name="settings">more configuration (e.g. the export limit)</param>
    /// <param name="storeTime">the store's clock (a call's last update), if not the system's</param>
    public static async Task<DashboardHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, TimeProvider? storeTime = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tenants:tenant-a:ApiKey"] = KeyA,
            ["Tenants:tenant-b:ApiKey"] = KeyB,
            ["Tenants:tenant-a:Alerts:Rules:0:Name"] = "angry-5s",
            ["Tenants:tenant-a:Alerts:Rules:0:Seconds"] = "5",
            ["Tenants:tenant-a:Alerts:Rules:0:WithinSeconds"] = "10",
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddTenantAuthentication();
        builder.Services.AddSingleton<ITimelineStore>(new InMemoryTimelineStore(storeTime));
        builder.Services.AddSupervision(builder.Configuration, _ => Labels, _ => new InMemoryAlertStore());
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapDashboard();
        await app.StartAsync();
        return new DashboardHost(app);
    }

    public HttpClient Client(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        if (key is not null) client.DefaultRequestHeaders.Add("X-API-KEY", key);
        return client;
    }

    /// <summary>Opens an event stream; the events are read with .NET's own SSE parser (not the dashboard's).</summary>
    public async Task<EventStream> OpenAsync(string key, string path, string? lastEventId = null)
    {
        var client = Client(key);
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        return new EventStream(client, response, SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator());
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    internal sealed class EventStream(HttpClient client, HttpResponseMessage response, IAsyncEnumerator<SseItem<string>> events) : IAsyncDisposable
    {
        /// <summary>The next event that is not a keep-alive (fails after a minute: the machine may be loaded).</summary>
        public async Task<SseItem<string>> NextAsync()
        {
            while (true)
            {
                var next = events.MoveNextAsync().AsTask();
                if (await Task.WhenAny(next, Task.Delay(TimeSpan.FromMinutes(1))) != next) Assert.Fail("no event within a minute");
                Assert.True(await next, "the stream ended");
                if (events.Current.EventType != "ping") return events.Current;
            }
        }

        /// <summary>Events up to and including the first of <paramref name="type"/> for which <paramref name="until"/> holds.</summary>
        public async Task<List<SseItem<string>>> ReadUntilAsync(string type, Func<SseItem<string>, bool>? until = null)
        {
            var read = new List<SseItem<string>>();
            while (true)
            {
                var item = await NextAsync();
                read.Add(item);
                if (item.EventType == type && (until is null || until(item))) return read;
            }
        }

        public async ValueTask DisposeAsync()
        {
            response.Dispose();
            client.Dispose();
            try
            {
                await events.DisposeAsync();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or HttpRequestException)
            {
                // the connection was closed under the reader: that is the point
            }
        }
    }
}
