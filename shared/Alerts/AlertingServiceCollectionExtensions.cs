using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Streaming.Alerts;

public static class AlertingServiceCollectionExtensions
{
    /// <summary>
    /// Rules from <c>Tenants:&lt;id&gt;:Alerts</c>, the engine, the monitor and webhook delivery (a hosted service). The host
    /// registers the <see cref="IAlertStore"/> (in memory or Redis).
    /// </summary>
    public static IServiceCollection AddAlerting(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AlertingOptions>().Bind(configuration).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebhookDeliveryOptions>().Bind(configuration.GetSection(WebhookDeliveryOptions.Section))
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var tenants = sp.GetRequiredService<IOptionsMonitor<AlertingOptions>>();
            return new AlertEngine(tenant => tenants.CurrentValue.RulesOf(tenant), sp.GetService<TimeProvider>());
        });
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        services.AddSingleton<AlertMonitor>();
        services.AddHttpClient<WebhookClient>(http => http.Timeout = Timeout.InfiniteTimeSpan) // the pipeline below sets the limits
            .AddResilienceHandler("webhooks", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<WebhookDeliveryOptions>>().Value;
                // Retries (5xx, 408, 429, connection errors, attempt timeouts) with exponential backoff and jitter; then a limit per attempt.
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    Delay = options.FirstRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                });
                pipeline.AddTimeout(options.AttemptTimeout);
            });
        return services;
    }
}
