using Streaming.Contracts;

namespace Streaming.Alerts;

/// <summary>
/// What the aggregator (or <c>serve</c>) calls after storing each window: evaluates the rules, stores new alerts with the call,
/// tells live views, and queues webhook deliveries. Only the store write is awaited; delivery happens in the background.
/// </summary>
public sealed class AlertMonitor(AlertEngine engine, IAlertStore store, WebhookDispatcher webhooks)
{
    /// <summary>Raised for each newly stored alert (live views subscribe).</summary>
    public event Action<Alert>? Fired;

    public async ValueTask ObserveAsync(EmotionWindow window, CancellationToken cancellationToken)
    {
        foreach (var alert in engine.Observe(window))
        {
            // A replayed window re-fires the same episode id: stored once, delivered once.
            if (!await store.AddAsync(alert, cancellationToken).ConfigureAwait(false)) continue;
            Fired?.Invoke(alert);
            webhooks.TryEnqueue(alert);
        }
    }
}
