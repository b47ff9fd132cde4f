using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Streaming.Messaging.Kafka;

namespace Streaming.ServiceDefaults;

/// <summary>What every service has: telemetry (Prometheus metrics, traces), health endpoints, validated Kafka options.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Health checks tagged so are liveness checks (/alive): the process works. Everything else is readiness (/health).</summary>
    public const string LiveTag = "live";

    /// <summary>
    /// A service's builder, with its content root at the service's own folder (where the build puts its appsettings.json), not
    /// the working directory: the configuration file watcher watches the content root and every folder below it, so a service
    /// started from a checkout woke on every write under it (Kafka's data and the logs of scripts/servers.sh): 8 % of the four
    /// services' CPU in the distributed benchmark. Containers already run from the app's folder.
    /// </summary>
    public static WebApplicationBuilder CreateServiceBuilder(string[] args) =>
        WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

    public static WebApplicationBuilder AddServiceDefaults(this WebApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter("Streaming.*")
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation()
                .AddSource("Streaming.*"));
        // Logs through OpenTelemetry too, with their scopes (call, stream, tenant where the code opens one).
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeScopes = true;
            logging.IncludeFormattedMessage = true;
        });
        // Traces, metrics and logs over OTLP when a collector is configured, by the standard variables only
        // (OTEL_EXPORTER_OTLP_ENDPOINT, _PROTOCOL, _HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*);
        // Prometheus scraping of /metrics stays either way.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])) telemetry.UseOtlpExporter();
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
