using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>
/// Registration for a host of the ingest endpoints (the ingest service, <c>serve</c>); the host adds its
/// <see cref="IAudioSinkFactory"/>, its <see cref="ICallClaims"/> when it runs as several instances (in memory otherwise), and
/// the <see cref="IPipelineLagSource"/> its overload refusals read (none: no refusal for overload).
/// </summary>
public static class IngestHosting
{
    public static IServiceCollection AddIngestSessions(this IServiceCollection services)
    {
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddTenantAuthentication();
        services.AddPlatformAuthentication();
        services.TryAddSingleton<ICallClaims, InMemoryCallClaims>();
        // Refuses new calls while the pipeline is behind, when the host registers an IPipelineLagSource (serve, ingest with Redis).
        services.AddSingleton<PipelineAdmission>();
        services.AddSingleton<IngestSessions>();
        services.AddHostedService<IngestDrain>();
        // The drain needs the hand-over grace and the resume window before the host gives up (default 30 s).
        services.AddOptions<HostOptions>().Configure<IOptions<IngestOptions>>((host, ingest) =>
            host.ShutdownTimeout = TimeSpan.FromTicks(Math.Max(host.ShutdownTimeout.Ticks, ingest.Value.ShutdownTimeout.Ticks)));
        // Kestrel buffers up to this much unread input per connection (default 1 MiB): when a session stops reading (Kafka
        // pushes back) that is what a connection holds. A pause threshold, not a message limit: larger messages still pass.
        services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestBufferSize = 64 * 1024);
        return services;
    }

    /// <summary>WebSockets (keep-alive pings every 20 s) and the ingest endpoints: native, AudioHook, Twilio.</summary>
    public static WebApplication MapIngestEndpoints(this WebApplication app)
    {
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        app.MapNativeIngest();
        app.MapPlatformEndpoints();
        return app;
    }
}

/// <summary>
/// The instance's side of a rolling restart and of call claims: renews the live calls' claims, starts the drain when the
/// host stops (ApplicationStopping, before the web server waits for the connections), and keeps the host up until every
/// handed-over call was resumed elsewhere or ended.
/// </summary>
internal sealed class IngestDrain(IngestSessions sessions, IHostApplicationLifetime lifetime) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(sessions.BeginDrain);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(sessions.Options.ClaimTtl / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) await sessions.RenewClaimsAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await sessions.WaitParkedAsync(cancellationToken).ConfigureAwait(false);
    }
}
