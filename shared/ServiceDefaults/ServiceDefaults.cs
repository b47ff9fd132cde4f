using Microsoft.AspNetCore.Builder;
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
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }
}
