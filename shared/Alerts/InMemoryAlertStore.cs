namespace Streaming.Alerts;

/// <summary>
/// Alerts in process memory (one process: <c>serve</c>, tests). Keeps the alerts of the most recent <c>maxCalls</c> calls, so memory
/// stays bounded like the in-memory timeline store's.
/// </summary>
public sealed class InMemoryAlertStore(TimeProvider? time = null, int maxCalls = 10000) : IAlertStore
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Tenant, string CallId), List<Alert>> _calls = [];
    private readonly Queue<(string Tenant, string CallId)> _order = new();

    public ValueTask<bool> AddAsync(Alert alert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var key = (alert.Tenant, alert.CallId);
            if (!_calls.TryGetValue(key, out var alerts))
            {
                alerts = [];
                _calls.Add(key, alerts);
                _order.Enqueue(key);
                while (_order.Count > maxCalls) _calls.Remove(_order.Dequeue());
            }
            if (alerts.Exists(a => a.Id == alert.Id)) return ValueTask.FromResult(false);
            alerts.Add(alert);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<Alert>> ListAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            IReadOnlyList<Alert> alerts = _calls.TryGetValue((tenant, callId), out var list) ? [.. list.OrderBy(a => a.Time)] : [];
            return ValueTask.FromResult(alerts);
        }
    }

    public ValueTask<int> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock) return ValueTask.FromResult(_calls.Remove((tenant, callId), out var alerts) ? alerts.Count : 0);
    }

    public ValueTask<Alert?> AcknowledgeAsync(string tenant, string callId, string alertId, string by, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_calls.TryGetValue((tenant, callId), out var alerts)) return ValueTask.FromResult<Alert?>(null);
            var i = alerts.FindIndex(a => a.Id == alertId);
            if (i < 0) return ValueTask.FromResult<Alert?>(null);
            if (!alerts[i].Acknowledged) alerts[i] = alerts[i] with { Acknowledged = true, AcknowledgedBy = by, AcknowledgedAt = _time.GetUtcNow() };
            return ValueTask.FromResult<Alert?>(alerts[i]);
        }
    }
}
