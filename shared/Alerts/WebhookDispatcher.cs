using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Streaming.Contracts;

namespace Streaming.Alerts;

/// <summary>
/// Delivers alerts to the tenants' webhooks in the background. <see cref="TryEnqueue"/> never waits: the queue is bounded, and
/// when it is full the delivery is dropped with a log line and a counter (the alert itself is already stored and shown), so a slow
/// or hanging receiver never holds the pipeline. <see cref="WebhookDeliveryOptions.Parallelism"/> deliveries run at once.
/// </summary>
public sealed partial class WebhookDispatcher : BackgroundService
{
    private static readonly Meter Meter = new("Streaming.Alerts");
    private static readonly Counter<long> Delivered = Meter.CreateCounter<long>("streaming.webhook.deliveries", "{delivery}",
        "Webhook deliveries by outcome: delivered, failed (after every retry), dropped (queue full)");

    private readonly Channel<(Alert Alert, Uri Url)> _queue;
    private readonly IServiceProvider _services;
    private readonly IOptionsMonitor<AlertingOptions> _tenants;
    private readonly WebhookDeliveryOptions _options;
    private readonly ILogger<WebhookDispatcher> _logger;

    public WebhookDispatcher(IServiceProvider services, IOptionsMonitor<AlertingOptions> tenants, IOptions<WebhookDeliveryOptions> options,
        ILogger<WebhookDispatcher> logger)
    {
        _services = services;
        _tenants = tenants;
        _options = options.Value;
        _logger = logger;
        _queue = Channel.CreateBounded<(Alert, Uri)>(new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
        // Zero-valued series, so rates and alerts work before the first delivery.
        foreach (var outcome in new[] { "delivered", "failed", "dropped" }) Delivered.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
    }

    /// <summary>Queues the alert for each of its tenant's webhooks; false when a delivery had to be dropped (queue full).</summary>
    public bool TryEnqueue(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var all = true;
        foreach (var url in _tenants.CurrentValue.Of(alert.Tenant)?.WebhookUrls ?? [])
        {
            var uri = new Uri(url);
            if (_queue.Writer.TryWrite((alert, uri))) continue;
            all = false;
            Delivered.Add(1, new KeyValuePair<string, object?>("outcome", "dropped"));
            LogDropped(alert.Id, alert.Tenant, uri.Host);
        }
        return all;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, _options.Parallelism).Select(_ => Task.Run(() => DeliverAsync(stoppingToken), stoppingToken)));

    private async Task DeliverAsync(CancellationToken stoppingToken)
    {
        await foreach (var (alert, url) in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            var secret = _tenants.CurrentValue.Of(alert.Tenant)?.WebhookSecret ?? "";
            using var scope = _logger.BeginScope(new StreamLogScope(new StreamKey(alert.Tenant, alert.CallId, alert.Speaker)));
            try
            {
                // Any failure is this delivery's alone: log it and go on with the next.
                // A client per delivery from the factory: its handler (and connection pool) is shared and recycled by the factory.
                await _services.GetRequiredService<WebhookClient>().SendAsync(alert, url, secret, stoppingToken).ConfigureAwait(false);
                Delivered.Add(1, new KeyValuePair<string, object?>("outcome", "delivered"));
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                Delivered.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
                LogFailed(alert.Id, alert.Tenant, url.Host, e.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook queue full: alert {AlertId} of tenant {Tenant} not delivered to {Host}")]
    private partial void LogDropped(string alertId, string tenant, string host);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery of alert {AlertId} of tenant {Tenant} to {Host} failed after every retry: {Reason}")]
    private partial void LogFailed(string alertId, string tenant, string host, string reason);
}
