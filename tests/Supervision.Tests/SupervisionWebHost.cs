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
/// The Kestrel host (127.0.0.1, a free port) both test servers run: tenants A and B, an in-memory store, supervision
/// (alerts, archive, live views) and the dashboard. Each server adds its tenant-a alert rule and, if it needs them, more
/// services and endpoints.
/// </summary>
internal static class SupervisionWebHost
{
    public const string KeyA = "tenant-a-key-0123456789";
    public const string KeyB = "tenant-b-key-0123456789";

    public static async Task<WebApplication> StartAsync(IReadOnlyDictionary<string, string?> settings, string? archiveDirectory,
        IReadOnlyList<string> labels, Action<IServiceCollection>? addServices = null, Action<WebApplication>? mapEndpoints = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tenants:tenant-a:ApiKey"] = KeyA,
            ["Tenants:tenant-b:ApiKey"] = KeyB,
            [SupervisionServiceCollectionExtensions.ArchiveDirectoryKey] = archiveDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings);
        addServices?.Invoke(builder.Services);
        builder.Services.AddTenantAuthentication();
        builder.Services.AddSingleton<ITimelineStore>(new InMemoryTimelineStore());
        builder.Services.AddSupervision(builder.Configuration, _ => labels, _ => new InMemoryAlertStore());
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        mapEndpoints?.Invoke(app);
        app.MapDashboard();
        await app.StartAsync();
        return app;
    }
}
