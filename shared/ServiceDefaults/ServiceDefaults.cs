using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Streaming.Messaging.Kafka;

namespace Streaming.ServiceDefaults;

/// <summary>What every service has: telemetry (Prometheus metrics, traces), health endpoints, validated Kafka options.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Health checks tagged so are liveness checks (/alive): the process works. Everything else is readiness (/health).</summary>
    public const string LiveTag = "live";

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("Streaming.*")
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddSource("Streaming.*"));
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), [LiveTag]);
        // Graceful shutdown finishes the batch in hand and commits it: give it time (Kubernetes waits 30 s by default).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        return builder;
    }

    /// <summary>The process's one Kafka publisher, with options validated at start (a bad setting stops the process naming it).</summary>
    public static IServiceCollection AddKafka(this IServiceCollection services)
    {
        services.AddOptions<KafkaOptions>().BindConfiguration(KafkaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new KafkaPublisher(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KafkaOptions>>().Value));
        services.AddHostedService<KafkaTopicsInitializer>();
        services.AddHealthChecks().AddCheck<KafkaPublisherHealthCheck>("kafka");
        return services;
    }

    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks("/alive", new HealthCheckOptions { Predicate = r => r.Tags.Contains(LiveTag) });
        app.MapHealthChecks("/health", new HealthCheckOptions { ResponseWriter = HealthResponse.WriteAsync });
        // Metrics describe every tenant's traffic: with Metrics:ApiKey set, only a scraper presenting that key reads them.
        if (app.Configuration["Metrics:ApiKey"] is { Length: > 0 } key) app.Use(new MetricsKey(key).Middleware);
        app.MapPrometheusScrapingEndpoint(MetricsKey.Path);
        return app;
    }
}

/// <summary>401 on /metrics unless the request carries the metrics key (<c>Authorization: Bearer KEY</c>, as Prometheus sends it, or <c>X-API-KEY</c>).</summary>
internal sealed class MetricsKey(string key)
{
    public const string Path = "/metrics";

    private readonly byte[] _hash = SHA256.HashData(Encoding.UTF8.GetBytes(key));

    public Task Middleware(HttpContext context, RequestDelegate next)
    {
        if (!context.Request.Path.Equals(Path, StringComparison.OrdinalIgnoreCase)) return next(context);
        var request = context.Request;
        var presented = request.Headers["X-API-KEY"].ToString();
        var authorization = request.Headers.Authorization.ToString();
        if (presented.Length == 0 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) presented = authorization[7..].Trim();
        if (CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _hash)) return next(context);
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return Task.CompletedTask;
    }
}
