using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Streaming.Tenancy;

namespace Streaming.Ingest.Sessions;

/// <summary>Registration for a host of the ingest endpoints (the ingest service, <c>serve</c>); the host adds its <see cref="IAudioSinkFactory"/>.</summary>
public static class IngestHosting
{
    public static IServiceCollection AddIngestSessions(this IServiceCollection services)
    {
        services.AddOptions<IngestOptions>().BindConfiguration(IngestOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddTenantAuthentication();
        services.AddPlatformAuthentication();
        services.AddSingleton<IngestSessions>();
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
